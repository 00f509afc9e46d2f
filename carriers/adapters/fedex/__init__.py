"""FedEx adapter (OAuth REST APIs: Rates and Transit Times, Ship, Track)."""

from carriers.adapters.fedex.adapter import FedExCarrier, build
from carriers.adapters.fedex.config import FedExConfig

__all__ = ["FedExCarrier", "FedExConfig", "build"]
