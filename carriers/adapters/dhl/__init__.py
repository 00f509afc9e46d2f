"""DHL Express adapter (MyDHL API: rates, shipments, tracking; no shipment void)."""

from carriers.adapters.dhl.adapter import DhlExpressCarrier, build
from carriers.adapters.dhl.config import DhlExpressConfig

__all__ = ["DhlExpressCarrier", "DhlExpressConfig", "build"]
