"""What the gateway records about each request: metrics and the access line.

``RequestObserver`` is the policy chain's ``observe`` callback (see ``policies.chain``).
The chain resolves the operation before its gates run (``state["route"]``), so a 401 or
429 on ``GET /v1/prices/{sku}`` is counted on ``getPriceV1``; only a path that no
operation has is counted as ``unmatched``.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

from gateway.metrics import GatewayMetrics
from gateway.observability.logs import ACCESS_LOGGER

__all__ = ["UNMATCHED", "AccessLog", "RequestObserver", "redact_query"]

UNMATCHED = "unmatched"
ANONYMOUS = "-"


def _cache_result(headers: Sequence[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"cache-status":
            text = value.decode("latin-1")
            if "fwd=uri-miss" in text:
                return "miss"
            if "; hit" in text:
                return "stale" if "detail=" in text else "hit"
            return "stale" if "fwd=stale" in text else text
    return None


def redact_query(query: bytes, show_values: bool) -> str:
    """The query string with every value replaced by ``*`` (customer ids live there)."""
    text = query.decode("latin-1")
    if show_values or not text:
        return text
    return "&".join(f"{name}=*" for name, _ in parse_qsl(text, keep_blank_values=True))


class AccessLog:
    """One INFO line per request on ``gateway.access``; no header values, query redacted."""

    def __init__(self, *, show_query_values: bool = False) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.show_query_values = show_query_values

    def line(self, scope: Scope, state: dict[str, Any], operation: str, client: str,
             status: int, seconds: float, sent: int) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        method = scope["method"]
        fields: dict[str, Any] = {
            "request_id": state.get("request_id"),
            "client_id": client,
            "operation": operation,
            "method": method,
            "path": scope["path"],
            "status": status,
            # the peer, or the client a trusted proxy forwarded (gateway.edge rewrites it)
            "client_ip": (scope.get("client") or ("-",))[0],
            "latency_ms": round(seconds * 1000, 3),
            "bytes": sent,
        }
        query = scope.get("query_string")
        if query:
            fields["query"] = redact_query(query, self.show_query_values)
        cache = _cache_result(state.get("response_headers", ()))
        if cache is not None:
            fields["cache"] = cache
        refused = state.get("refused")
        if refused is not None:
            fields["refused_by"] = refused[0]
        # built directly: logger.info would walk the stack for a caller nobody reads
        record = logging.LogRecord(ACCESS_LOGGER, logging.INFO, "", 0, "%s %s %d",
                                   (method, operation, status), None)
        record.__dict__.update(fields)
        self.logger.handle(record)


class RequestObserver:
    """Counts each request and writes its access line (``PolicyChain``'s observer).

    A request only adds to plain dicts here; ``flush`` (the heartbeat's tick, once a second,
    and every scrape of this worker) moves what accumulated into the Prometheus families.
    prometheus-client's values take a lock each (and in multiprocess mode write a mapped
    file), which on a cached read cost more than the read itself; batched, they cost one
    update per label set per second. Another worker's last second reaches a scrape at its
    next tick: counters lag by up to a second, and never go backwards.
    """

    def __init__(self, metrics: GatewayMetrics, access_log: AccessLog | None = None) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self._bounds = tuple(metrics.latency._upper_bounds)
        # (operation, method, status, client) → [requests, bytes, latency sum, bucket counts…]
        self._pending: dict[tuple[str, str, int, str], list[Any]] = {}

    def flush(self) -> None:
        """Add what accumulated since the last flush to the Prometheus families."""
        pending, self._pending = self._pending, {}
        m = self.metrics
        for (operation, method, status, client), (count, sent, total, buckets) in pending.items():
            m.requests.labels(operation, method, str(status), client).inc(count)
            if sent:
                m.response_bytes.labels(operation).inc(sent)
            latency = m.latency.labels(operation, method)
            latency._sum.inc(total)  # Histogram.observe, for many observations at once
            for i, n in enumerate(buckets):
                if n:
                    latency._buckets[i].inc(n)

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        state: dict[str, Any] = scope["state"]
        route = state.get("route")
        operation = route.operation_id if route is not None else UNMATCHED
        principal = state.get("principal")
        client = principal.client_id if principal is not None else ANONYMOUS
        method: str = scope["method"]
        key = (operation, method, status, client)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = [0, 0, 0.0, [0] * len(self._bounds)]
        sent: int = state.get("response_bytes", 0)
        entry[0] += 1
        entry[1] += sent
        entry[2] += seconds
        # the first bucket whose bound is >= seconds (the last bound is +Inf)
        entry[3][bisect_left(self._bounds, seconds)] += 1
        refused = state.get("refused")
        if refused is not None:
            gate, problem = refused
            self.metrics.refusals.labels(operation, gate, problem.slug).inc()
        if self.access_log is not None:
            self.access_log.line(scope, state, operation, client, status, seconds, sent)
