"""UPS adapter (OAuth REST APIs: Rating, Shipping, Tracking)."""

from carriers.adapters.ups.adapter import UPSCarrier, build
from carriers.adapters.ups.config import UPSConfig

__all__ = ["UPSCarrier", "UPSConfig", "build"]
