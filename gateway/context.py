"""Per-request context that outbound calls read (the correlation id forwarded upstream)."""

from __future__ import annotations

from collections.abc import Callable

from policies.request_id import request_id_var

__all__ = ["OUTBOUND_HEADER_HOOKS", "outbound_headers", "request_id_var"]

# more headers for every upstream call, added in place (the trace context, when tracing)
OUTBOUND_HEADER_HOOKS: list[Callable[[dict[str, str]], None]] = []


def outbound_headers() -> dict[str, str]:
    """Headers every upstream call carries: the caller's correlation id when there is one."""
    rid = request_id_var.get()
    headers = {"X-Request-ID": rid} if rid else {}
    for hook in OUTBOUND_HEADER_HOOKS:
        hook(headers)
    return headers
