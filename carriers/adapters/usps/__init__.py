"""USPS adapter (v3 REST APIs: Shipping Options, Payments, Labels, Tracking)."""

from carriers.adapters.usps.adapter import UspsCarrier, build
from carriers.adapters.usps.config import UspsConfig

__all__ = ["UspsCarrier", "UspsConfig", "build"]
