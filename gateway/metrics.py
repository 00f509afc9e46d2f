"""Request metrics and the Prometheus text exposition of every component's counters.

Components (cache, breakers, limiter, shipping) keep their own counters; the
registry only pulls them when ``/metrics`` is scraped, so the request path pays
two clock reads and a few dict updates.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# a source returns {metric name: value} or {metric name: {label value: value}}
Source = Callable[[], Mapping[str, Any]]


class RequestMetrics:
    def __init__(self) -> None:
        self.count: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.latency_sum: defaultdict[str, float] = defaultdict(float)
        self.latency_buckets: defaultdict[str, list[int]] = defaultdict(
            lambda: [0] * (len(BUCKETS) + 1))

    def observe(self, operation: str, status: int, seconds: float) -> None:
        self.count[(operation, status)] += 1
        self.latency_sum[operation] += seconds
        # the first bucket whose bound is >= seconds; the last one (+Inf) when none is
        self.latency_buckets[operation][bisect_left(BUCKETS, seconds)] += 1

    def observe_request(self, scope: Scope, status: int, seconds: float) -> None:
        """``PolicyChain``'s observer: one request, labelled by the operation it resolved to
        (also when a gate refused it), or ``unmatched``."""
        route = scope.get("state", {}).get("route")
        self.observe(route.operation_id if route is not None else "unmatched", status, seconds)


@dataclass(frozen=True)
class MetricsExport:
    """What ``/metrics`` renders: the request metrics and each component's counters."""

    requests: RequestMetrics
    sources: Callable[[], Mapping[str, Source]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(metrics: RequestMetrics, sources: Mapping[str, Source]) -> str:
    lines = ["# TYPE gateway_requests_total counter"]
    for (operation, status), n in sorted(metrics.count.items()):
        lines.append(f'gateway_requests_total{{operation="{_escape(operation)}",'
                     f'status="{status}"}} {n}')
    lines.append("# TYPE gateway_request_seconds histogram")
    for operation, buckets in sorted(metrics.latency_buckets.items()):
        op = _escape(operation)
        total = 0
        for bound, n in zip((*BUCKETS, float("inf")), buckets, strict=True):
            total += n
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            lines.append(f'gateway_request_seconds_bucket{{operation="{op}",le="{le}"}} {total}')
        lines.append(f'gateway_request_seconds_count{{operation="{op}"}} {total}')
        lines.append(f'gateway_request_seconds_sum{{operation="{op}"}} '
                     f'{metrics.latency_sum[operation]:.6f}')
    for prefix, source in sorted(sources.items()):
        for name, value in sorted(source().items()):
            metric = f"gateway_{prefix}_{name}"
            if isinstance(value, Mapping):
                label = "key"
                for key, v in sorted(value.items()):
                    lines.append(f'{metric}{{{label}="{_escape(str(key))}"}} {float(v):g}')
            else:
                lines.append(f"{metric} {float(value):g}")
    return "\n".join(lines) + "\n"
