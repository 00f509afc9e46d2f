"""What a running gateway holds: built in the lifespan, read by the routes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from caching import TieredCache
from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp.base import ErpConnector
from gateway.metrics import RequestMetrics
from gateway.settings import Settings
from policies.ratelimit import RateLimiter


@dataclass
class Services:
    settings: Settings
    erp: ErpConnector
    catalog: CatalogService
    shipping: ShippingService
    cache: TieredCache
    metrics: RequestMetrics
    limiter: RateLimiter
    redis: Any = None
    # set while the app shuts down: readiness answers 503 so balancers drain it
    draining: bool = False


    def metric_sources(self) -> dict[str, Callable[[], Mapping[str, Any]]]:
        """Counters of every component, pulled when /metrics is scraped."""
        sources: dict[str, Callable[[], Mapping[str, Any]]] = {
            "shipping": self.shipping.counters.snapshot,
            "cache": self.cache.stats,
            "erp_calls": lambda: dict(getattr(self.erp, "calls", {})),
        }
        return sources

    def degraded(self) -> dict[str, str]:
        """Components running on a fallback path right now (for /readyz)."""
        out = {}
        if self.cache.degraded:
            out["cache"] = "L2 (Redis) unavailable: serving from this replica's L1"
        if self.limiter.degraded:
            out["ratelimit"] = "Redis unavailable: each replica enforces its share of the limits"
        return out


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
