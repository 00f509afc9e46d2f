"""Everything operational one app holds, built from its settings in one place.

The app factory makes one ``Operations``, puts ``observer`` on the policy chain and
``middleware`` around the app, passes its ERP connector through ``erp`` and its shipping
service through ``instrument_shipping``, and starts and stops it in the lifespan.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.middleware import Middleware

from caching import TieredCache
from caching.types import Fetch
from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp.base import ErpConnector
from gateway.metrics import GatewayMetrics
from gateway.observability.control import WorkerControl
from gateway.observability.feeds import ComponentFeeds
from gateway.observability.heartbeat import Heartbeat
from gateway.observability.requests import AccessLog, RequestObserver
from gateway.observability.tracing import Tracing, TracingMiddleware, build_tracing
from gateway.observability.upstream import CarrierHooks, MeteredErp
from gateway.settings import Settings
from gateway.version import version
from policies.ratelimit import RateLimiter

__all__ = ["Operations"]

log = logging.getLogger("gateway")


class Operations:
    def __init__(self, settings: Settings, *, control: WorkerControl | None = None,
                 tracer_provider: Any = None) -> None:
        self.settings = settings
        self.control = control or WorkerControl()
        self.metrics = GatewayMetrics()
        self.metrics.build_info.labels(version()).set(1)
        self.tracing: Tracing = build_tracing(settings.tracing, provider=tracer_provider)
        self.access_log = AccessLog(show_query_values=settings.logging.query_values == "shown")
        self.observer = RequestObserver(self.metrics, self.access_log)
        self.carrier_hooks = CarrierHooks(self.metrics, self.tracing)
        self.feeds: ComponentFeeds | None = None
        self.heartbeat: Heartbeat | None = None
        self._shipping: ShippingService | None = None

    def middleware(self) -> list[Middleware]:
        """The outermost layers (tracing, when on)."""
        return [Middleware(TracingMiddleware, tracing=self.tracing)] if self.tracing.enabled \
            else []

    def erp(self, connector: ErpConnector) -> ErpConnector:
        return MeteredErp(connector, self.metrics, self.tracing)

    def instrument_catalog(self, catalog: CatalogService) -> None:
        """A span around each cache fill (the ERP call inside it is its child)."""
        if not self.tracing.enabled:
            return
        for data_class, name in (("inventory", "fetch_availability"),
                                 ("prices", "fetch_prices")):
            setattr(catalog, name, self._traced_fill(data_class, getattr(catalog, name)))

    def _traced_fill(self, data_class: str, fetch: Fetch) -> Fetch:
        async def traced(keys: list[str]) -> Any:
            with self.tracing.span(f"cache fill {data_class}", {
                    "cache.data_class": data_class, "cache.keys": len(keys)}):
                return await fetch(keys)
        return traced

    def instrument_shipping(self, service: ShippingService) -> None:
        service.registry.instrument(self.carrier_hooks, self.carrier_hooks.transition)
        self._shipping = service

    def webhook_eviction(self, source: str, notice: Any) -> None:
        """An ERP change notice was applied: count it and say what it evicted."""
        self.metrics.webhook_evictions.labels(source).inc()
        log.info("change notice from %s applied", source, extra={
            "event": "webhook_eviction", "source": source, "all": bool(notice.all),
            "tags": len(notice.tags())})

    def start(self, *, cache: TieredCache, limiter: RateLimiter, redis: Any) -> None:
        """Begin the heartbeat: Redis probe while degraded, metric feeds once a second."""
        self.feeds = ComponentFeeds(self.metrics, cache=cache, shipping=lambda: self._shipping,
                                    limiter=limiter)

        async def recovered() -> None:
            cache.redis_answered()
            await limiter.probe()

        self.heartbeat = Heartbeat(
            degraded=lambda: {"cache": cache.degraded, "ratelimit": limiter.degraded},
            ping=redis.ping if redis is not None else None, recovered=recovered,
            tick=self._sync,
            on_back=lambda component: self.metrics.redis_reconnects.labels(component).inc())
        self.feeds.sync()  # this worker's gauges exist from the first scrape on
        self.heartbeat.start()

    def _sync(self) -> None:
        self.observer.flush()
        if self.feeds is not None:
            self.feeds.sync()

    async def stop(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        self.observer.flush()  # the last requests reach the metrics files before exit
        self.tracing.shutdown()

    def exposition(self) -> bytes:
        """The current metrics, this worker's requests and components brought up to date."""
        self._sync()
        return self.metrics.exposition()
