"""Per-request context that outbound calls read (the correlation id forwarded upstream)."""

from __future__ import annotations

from policies.request_id import request_id_var

__all__ = ["outbound_headers", "request_id_var"]


def outbound_headers() -> dict[str, str]:
    """Headers every upstream call carries: the caller's correlation id when there is one."""
    rid = request_id_var.get()
    return {"X-Request-ID": rid} if rid else {}
