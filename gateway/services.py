"""What a running gateway holds: built in the lifespan, read by the routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp.base import ErpConnector
from gateway.settings import Settings


@dataclass
class Services:
    settings: Settings
    erp: ErpConnector
    catalog: CatalogService
    shipping: ShippingService
    redis: Any = None
    # set while the app shuts down: readiness answers 503 so balancers drain it
    draining: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


    def metric_sources(self) -> dict[str, Callable[[], Mapping[str, Any]]]:
        """Counters of every component, pulled when /metrics is scraped."""
        sources: dict[str, Callable[[], Mapping[str, Any]]] = {
            "shipping": self.shipping.counters.snapshot,
            "erp_calls": lambda: dict(getattr(self.erp, "calls", {})),
        }
        sources.update(self.extra.get("metric_sources", {}))
        return sources


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
