"""Per-request context that outbound calls read (the correlation id forwarded upstream)."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def outbound_headers() -> dict[str, str]:
    """Headers every upstream call carries: the caller's correlation id when there is one."""
    rid = request_id_var.get()
    return {"X-Request-ID": rid} if rid else {}
