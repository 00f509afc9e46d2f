"""Correlation id: accept a well-formed ``X-Request-ID`` or make one; echo it; expose it."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_VALID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _incoming(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            # anything else (spaces, control characters, 200 bytes) is replaced, not trusted
            return value.decode("ascii") if _VALID.match(value) else None
    return None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # 128 random bits as hex, like uuid4().hex at a third of the cost
        rid = _incoming(scope) or os.urandom(16).hex()
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # the app's own X-Request-ID (an error handler's) is replaced, not doubled
                headers = [h for h in message.get("headers", ()) if h[0] != b"x-request-id"]
                headers.append(header)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
