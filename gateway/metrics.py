"""The gateway's Prometheus metrics, on ``prometheus-client``, correct with several workers.

Under ``erp-gateway serve`` every worker writes its samples to memory-mapped files in one
directory (prometheus-client's multiprocess mode; the CLI makes the directory and hands it
to the workers), and whichever worker answers a scrape merges all of them: counters are
sums over every worker that ever ran in this server, so they never go backwards from one
scrape to the next. Per-worker gauges (breaker state, process figures) carry a ``pid``
label; ``redis_degraded`` reports the worst live worker. Without a directory (tests, an
embedding server) the metrics live in this process's own registry.

Names follow Prometheus conventions: counters end in ``_total``, durations are
``_seconds`` histograms, sizes ``_bytes``; kinds are labels, and operations are labelled
by their operation id, never by the raw path.

The request path only touches ``RequestFamilies``; component counters (cache, shipping,
breakers) are read from the components by ``gateway.observability.feeds`` once a second
and on each scrape.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

__all__ = ["CONTENT_TYPE", "LATENCY_BUCKETS", "GatewayMetrics", "enable_multiprocess",
           "mark_worker_dead", "multiprocess_dir"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# upstream calls (ERP, carriers) take longer than a cached read
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_multiprocess_dir: Path | None = None


def enable_multiprocess(directory: str | Path) -> None:
    """Write this process's samples under ``directory`` (call before building metrics)."""
    global _multiprocess_dir
    _multiprocess_dir = Path(directory)
    # prometheus-client picks its value class at import and its files' home from this name
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_multiprocess_dir)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def multiprocess_dir() -> Path | None:
    return _multiprocess_dir


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay in the sums)."""
    if _multiprocess_dir is not None:
        multiprocess.mark_process_dead(pid, str(_multiprocess_dir))  # type: ignore[no-untyped-call]


class GatewayMetrics:
    """Every metric family the gateway exports, built once per app."""

    def __init__(self) -> None:
        self.multiprocess = _multiprocess_dir is not None
        # in multiprocess mode the families only write files; a scrape merges the files
        self.registry = CollectorRegistry(auto_describe=True)
        reg = None if self.multiprocess else self.registry

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(name, doc, list(labels), registry=reg)

        def gauge(name: str, doc: str, labels: Iterable[str] = (), mode: Any = "liveall"
                  ) -> Gauge:
            return Gauge(name, doc, list(labels), registry=reg, multiprocess_mode=mode)

        # requests
        self.requests = counter(
            "gateway_requests", "HTTP requests answered, by operation, method, status and "
            "client", ("operation", "method", "status", "client"))
        self.latency = Histogram(
            "gateway_request_duration_seconds", "Time from the request's arrival to the end "
            "of its response, by operation", ["operation", "method"],
            buckets=LATENCY_BUCKETS, registry=reg)
        self.response_bytes = counter(
            "gateway_response_body_bytes", "Response body bytes sent, by operation",
            ("operation",))
        self.refusals = counter(
            "gateway_gate_refusals", "Requests a policy gate refused, by the operation they "
            "asked for, the gate (auth, version, ratelimit) and the problem type",
            ("operation", "gate", "reason"))
        # cache, by data class
        self.cache_lookups = counter(
            "gateway_cache_lookups", "Cache key lookups by data class and result (hit: fresh; "
            "stale: served stale; miss: needed the ERP)", ("data_class", "result"))
        self.cache_fills = counter(
            "gateway_cache_fills", "Missed keys by how they were filled (fetched: this "
            "worker asked the ERP; coalesced: joined a fetch in flight; peer: another replica "
            "fetched it)", ("data_class", "source"))
        self.cache_erp_calls = counter(
            "gateway_cache_erp_calls", "ERP fetches made by the cache, by data class and "
            "outcome", ("data_class", "outcome"))
        self.cache_refreshes = counter(
            "gateway_cache_refreshes", "Background revalidations started (stale-while-"
            "revalidate)", ("data_class",))
        self.cache_l2_errors = counter(
            "gateway_cache_l2_errors", "Redis (L2) errors and timeouts; the request went on "
            "without L2")
        self.cache_invalidations = counter(
            "gateway_cache_invalidations", "Tag invalidations and purges applied to a "
            "worker's L1")
        self.cache_l1_entries = gauge(
            "gateway_cache_l1_entries", "Entries in a worker's in-process cache")
        # ERP connector
        self.erp_calls = counter(
            "gateway_erp_calls", "Calls to the ERP connector by connector, call and outcome "
            "(ok, error, timeout, unavailable, bad_response, unknown_customer)",
            ("connector", "call", "outcome"))
        self.erp_latency = Histogram(
            "gateway_erp_call_duration_seconds", "ERP call duration by connector and call",
            ["connector", "call"], buckets=UPSTREAM_BUCKETS, registry=reg)
        # carriers
        self.carrier_calls = counter(
            "gateway_carrier_calls", "Calls to carrier accounts by account, carrier, "
            "operation and outcome (ok, rejected, unavailable, timeout, breaker_open, "
            "capability_missing)", ("account", "carrier", "operation", "outcome"))
        self.carrier_latency = Histogram(
            "gateway_carrier_call_duration_seconds", "Carrier call duration by account and "
            "operation (breaker refusals excluded)", ["account", "carrier", "operation"],
            buckets=UPSTREAM_BUCKETS, registry=reg)
        self.breaker_state = gauge(
            "gateway_breaker_state", "1 for the state each carrier account's breaker is in "
            "on this worker (closed, open, half_open)", ("account", "carrier", "state"))
        self.breaker_transitions = counter(
            "gateway_breaker_transitions", "Breaker state changes by account and the states "
            "left and entered", ("account", "from_state", "to_state"))
        # shipping outcomes
        self.rate_shops = counter("gateway_shipping_rate_shops", "Rate-shop requests served")
        self.fallbacks = counter(
            "gateway_shipping_fallbacks", "Carriers replaced by fallback table rates in a "
            "rate-shop answer")
        self.fallback_rates = counter(
            "gateway_shipping_fallback_rates", "Fallback table rates served")
        self.label_purchases = counter(
            "gateway_label_purchases", "Label purchase requests by outcome (bought, replayed: "
            "an idempotent repeat answered from the record, recovered: found at the carrier "
            "after an unknown outcome, failed)", ("outcome",))
        self.label_voids = counter(
            "gateway_label_voids", "Label voids by outcome (voided, refused)", ("outcome",))
        self.tracking = counter("gateway_tracking_requests", "Tracking lookups served")
        # Redis
        self.redis_degraded = gauge(
            "gateway_redis_degraded", "1 while a component runs without Redis (cache: L1 "
            "only; ratelimit: per-replica shares), worst live worker",
            ("component",), mode="livemax")
        self.redis_reconnects = counter(
            "gateway_redis_reconnects", "Times a component found Redis again after losing it",
            ("component",))
        # operations
        self.config_reloads = counter(
            "gateway_config_reloads", "Configuration reloads by outcome (applied, refused)",
            ("outcome",))
        self.webhook_evictions = counter(
            "gateway_webhook_evictions", "ERP change notices applied, by source", ("source",))
        self.build_info = gauge(
            "gateway_build_info", "The running version (value 1)", ("version",), mode="max")
        # per worker: prometheus-client's own process collector sees only the scraped worker
        self.process_cpu = gauge("gateway_process_cpu_seconds",
                                 "CPU time a worker has used (user + system)")
        self.process_memory = gauge("gateway_process_resident_memory_bytes",
                                    "A worker's resident memory")
        self.process_fds = gauge("gateway_process_open_fds", "A worker's open file descriptors")
        self.process_start = gauge("gateway_process_start_time_seconds",
                                   "When a worker started (Unix time)")

    def exposition(self) -> bytes:
        """The text exposition: every worker's samples in multiprocess mode."""
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                registry, path=str(_multiprocess_dir))
            return generate_latest(registry)
        return generate_latest(self.registry)
