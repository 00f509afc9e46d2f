"""What the gateway records about each request: metrics and the access line.

``RequestObserver`` is the policy chain's ``observe`` callback (see ``policies.chain``).
The chain resolves the operation before its gates run (``state["route"]``), so a 401 or
429 on ``GET /v1/prices/{sku}`` is counted on ``getPriceV1``; only a path that no
operation has is counted as ``unmatched``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl

from prometheus_client import Counter, Histogram
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
    """Counts each request and writes its access line (``PolicyChain``'s observer)."""

    def __init__(self, metrics: GatewayMetrics, access_log: AccessLog | None = None) -> None:
        self.metrics = metrics
        self.access_log = access_log
        # label lookups take a lock and validate; each label set is resolved once
        self._children: dict[tuple[str, str, int, str], tuple[Counter, Histogram, Counter]] = {}

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        state: dict[str, Any] = scope["state"]
        route = state.get("route")
        operation = route.operation_id if route is not None else UNMATCHED
        principal = state.get("principal")
        client = principal.client_id if principal is not None else ANONYMOUS
        method: str = scope["method"]
        key = (operation, method, status, client)
        children = self._children.get(key)
        if children is None:
            m = self.metrics
            children = self._children[key] = (
                m.requests.labels(operation, method, str(status), client),
                m.latency.labels(operation, method),
                m.response_bytes.labels(operation))
        requests, latency, sent_bytes = children
        requests.inc()
        latency.observe(seconds)
        sent: int = state.get("response_bytes", 0)
        if sent:
            sent_bytes.inc(sent)
        refused = state.get("refused")
        if refused is not None:
            gate, problem = refused
            self.metrics.refusals.labels(operation, gate, problem.slug).inc()
        if self.access_log is not None:
            self.access_log.line(scope, state, operation, client, status, seconds, sent)
