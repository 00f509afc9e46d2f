"""RFC 9457 problem details: the one shape every error leaves the gateway in.

Exception tree (each class is one problem type)::

    Problem                         500 internal-error
    ├── BadRequest                  400 bad-request (malformed JSON, bad header)
    ├── Unauthorized                401 unauthorized (+ WWW-Authenticate)
    ├── Forbidden                   403 forbidden
    ├── NotFound                    404 not-found
    ├── MethodNotAllowed            405 method-not-allowed (+ Allow)
    ├── Conflict                    409 conflict (state forbids it: refused void, key in use)
    ├── Gone                        410 gone (version past its sunset)
    ├── PayloadTooLarge             413 payload-too-large
    ├── UriTooLong                  414 uri-too-long (path or query beyond its limit)
    ├── UnsupportedMediaType        415 unsupported-media-type
    ├── ValidationFailed            422 validation-failed (+ errors[] with JSON pointers)
    ├── Unprocessable               422 unprocessable (well-formed, but cannot be done)
    ├── TooManyRequests             429 rate-limited (+ Retry-After)
    ├── HeadersTooLarge             431 headers-too-large (count or bytes beyond the limit)
    ├── BadGateway                  502 upstream-bad-response
    ├── ServiceUnavailable          503 upstream-unavailable (+ Retry-After)
    └── GatewayTimeout              504 upstream-timeout
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://erp-gateway.dev/problems/"


class Problem(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        doc.update(self.extensions)
        return doc

    def response(self, instance: str | None = None) -> Response:
        return Response(
            json.dumps(self.body(instance), separators=(",", ":"), default=str),
            status_code=self.status,
            headers=self.headers,
            media_type=PROBLEM_JSON,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send this problem as the response: lets pure ASGI middleware reject early."""
        await self.response(scope.get("path"))(scope, receive, send)


class BadRequest(Problem):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str, *, challenge: str = 'Bearer realm="erp-gateway"',
                 **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers.setdefault("WWW-Authenticate", challenge)


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(Problem):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(Problem):
    status, slug, title = 410, "gone", "Gone"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UriTooLong(Problem):
    status, slug, title = 414, "uri-too-long", "URI too long"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(Problem):
    status, slug, title = 422, "validation-failed", "Validation failed"

    def __init__(self, detail: str, errors: Sequence[Mapping[str, str]], **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.extensions["errors"] = [dict(e) for e in errors]


class Unprocessable(Problem):
    status, slug, title = 422, "unprocessable", "Unprocessable content"


class TooManyRequests(Problem):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **kw: Any) -> None:
        super().__init__(detail, **kw)
        self.headers["Retry-After"] = str(max(1, retry_after))


class HeadersTooLarge(Problem):
    status, slug, title = 431, "headers-too-large", "Request header fields too large"


class BadGateway(Problem):
    status, slug, title = 502, "upstream-bad-response", "Bad gateway"


class ServiceUnavailable(Problem):
    status, slug, title = 503, "upstream-unavailable", "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, retry_after))


class GatewayTimeout(Problem):
    status, slug, title = 504, "upstream-timeout", "Gateway timeout"

    def __init__(self, detail: str, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(detail, **kw)
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, retry_after))


ALL_PROBLEMS: tuple[type[Problem], ...] = (
    Problem, BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict, Gone,
    PayloadTooLarge, UriTooLong, UnsupportedMediaType, ValidationFailed, Unprocessable,
    TooManyRequests, HeadersTooLarge, BadGateway, ServiceUnavailable, GatewayTimeout,
)
