"""Component counters into Prometheus families, once a second and on each scrape.

The cache, the shipping service and the breakers count in plain integers (their packages
know nothing of Prometheus). ``ComponentFeeds.sync`` adds what each counter grew since the
last sync to its Prometheus counter, so the families only ever grow: a component rebuilt
by a reload starts again from zero and is counted from there. Gauges (breaker state, L1
size, Redis degraded, process figures) are set to their current value.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from prometheus_client import Counter
from prometheus_client.process_collector import ProcessCollector

from caching import TieredCache
from carriers.breaker import BreakerState
from carriers.service import ShippingService
from gateway.metrics import GatewayMetrics
from policies.ratelimit import RateLimiter

__all__ = ["ComponentFeeds"]

_LOOKUPS = {"hit": "hits", "stale": "stale_hits", "miss": "misses"}
_FILLS = {"coalesced": "coalesced_waits", "peer": "peer_fills"}
_SHIPPING: dict[str, tuple[str, tuple[str, ...]]] = {
    "rate_shops": ("rate_shops", ()),
    "fallbacks_used": ("fallbacks", ()),
    "fallback_rates": ("fallback_rates", ()),
    "purchases": ("label_purchases", ("bought",)),
    "replays": ("label_purchases", ("replayed",)),
    "recoveries": ("label_purchases", ("recovered",)),
    "purchase_failures": ("label_purchases", ("failed",)),
    "voids": ("label_voids", ("voided",)),
    "void_refusals": ("label_voids", ("refused",)),
    "tracks": ("tracking", ()),
}
_PROCESS = {
    "process_cpu_seconds": "process_cpu",
    "process_resident_memory_bytes": "process_memory",
    "process_open_fds": "process_fds",
    "process_start_time_seconds": "process_start",
}


class _Deltas:
    """The last value seen of each component counter."""

    def __init__(self) -> None:
        self._last: dict[Hashable, float] = {}

    def add(self, family: Counter, labels: tuple[str, ...], value: float) -> None:
        key = (family._name, labels)
        last = self._last.get(key, 0.0)
        if value < last:  # the component was rebuilt (a reload): count it from zero
            last = 0.0
        if value > last:
            (family.labels(*labels) if labels else family).inc(value - last)
        self._last[key] = value


class ComponentFeeds:
    def __init__(self, metrics: GatewayMetrics, *, cache: TieredCache,
                 shipping: Callable[[], ShippingService | None], limiter: RateLimiter) -> None:
        self.metrics = metrics
        self.cache = cache
        # the shipping service is built in the lifespan and rebuilt by nothing but a restart
        self.shipping = shipping
        self.limiter = limiter
        self._deltas = _Deltas()
        self._process = ProcessCollector(registry=None)

    def sync(self) -> None:
        """Bring every family up to the components' current counts."""
        self._cache()
        service = self.shipping()
        if service is not None:
            self._shipping(service)
        self._redis({"cache": self.cache.degraded, "ratelimit": self.limiter.degraded})
        self._process_figures()

    def _cache(self) -> None:
        m, add = self.metrics, self._deltas.add
        for data_class, counts in self.cache.counters.by_class().items():
            for result, name in _LOOKUPS.items():
                add(m.cache_lookups, (data_class, result), counts[name])
            for source, name in _FILLS.items():
                add(m.cache_fills, (data_class, source), counts[name])
            errors = counts["fetch_errors"]
            add(m.cache_erp_calls, (data_class, "ok"), counts["fetches"] - errors)
            add(m.cache_erp_calls, (data_class, "error"), errors)
            add(m.cache_refreshes, (data_class,), counts["refreshes"])
        add(m.cache_l2_errors, (), self.cache.counters.l2_errors)
        add(m.cache_invalidations, (), self.cache.counters.invalidations)
        m.cache_l1_entries.set(self.cache.stats()["l1_entries"])

    def _shipping(self, service: ShippingService) -> None:
        counts: dict[str, Any] = service.counters.snapshot()
        for name, (family, labels) in _SHIPPING.items():
            self._deltas.add(getattr(self.metrics, family), labels, counts.get(name, 0))
        states = self.metrics.breaker_state
        for snap in service.registry.breaker_states():
            for state in BreakerState:
                states.labels(snap.account, snap.carrier, state.value).set(
                    1 if snap.state is state else 0)

    def _redis(self, degraded: dict[str, bool]) -> None:
        # reconnects are counted by the heartbeat, which sees each transition
        for component, now in degraded.items():
            self.metrics.redis_degraded.labels(component).set(1 if now else 0)

    def _process_figures(self) -> None:
        for family in self._process.collect():
            attr = _PROCESS.get(family.name)
            if attr is not None and family.samples:
                getattr(self.metrics, attr).set(family.samples[0].value)
