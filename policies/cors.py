"""CORS for browser storefronts, per route group and optionally per client.

A rule covers the paths of the route groups it names (the gateway passes each group's path
templates from its operation table) and/or path prefixes.

``CorsMiddleware`` sits outside the policy chain: a preflight (``OPTIONS`` with ``Origin``
and ``Access-Control-Request-Method``) carries no credentials, so it is answered here,
before auth, from the first rule whose paths and origins match. An actual request from an
allowed origin gets ``Access-Control-Allow-Origin`` (the origin itself, never ``*`` with
credentials) and the exposed headers; a rule that names ``clients`` adds them only when
the authenticated client is one of them (a preflight cannot know the client, so it admits
any rule's origin and the answer itself decides). An origin no rule allows gets no CORS
headers at all, and every answer on a covered path says ``Vary: Origin``.

Origins are compared exactly as browsers serialize them (lower-case scheme and host, no
default port, no path): ``https://shop.example.com.evil.com`` is not
``https://shop.example.com``. ``https://*.example.com`` allows subdomains of example.com
(one or more labels), not example.com itself nor ``evilexample.com``. ``null`` (sandboxed
frames, ``file:`` pages) can never be allowed: any page can make itself null.

CORS only tells a browser which pages may read an answer; it keeps nobody from sending a
request. Credentials (API keys, tokens) still decide what a request may do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.problems import Forbidden

__all__ = ["CorsConfig", "CorsMiddleware", "CorsRule"]

# key of the caller's Principal in scope["state"] (policies.auth.types.PRINCIPAL_STATE_KEY)
PRINCIPAL_STATE_KEY = "principal"
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
_DNS_NAME = re.compile(f"^{_NAME}$")
# a configured host: a name, "*." before a name, or a bracketed IPv6 address
_HOST = re.compile(rf"^(?:\*\.)?{_NAME}$|^\[[0-9a-f:.]+\]$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_EXPOSED = ["Cache-Status", "Age", "ETag", "RateLimit", "RateLimit-Policy",
                   "Retry-After", "X-Request-ID", "Deprecation", "Sunset", "Link"]


def _origin(value: str) -> str:
    """A configured origin, normalized to the form browsers send."""
    if value == "*":
        return value
    if value.strip().lower() == "null":
        raise ValueError("the null origin cannot be allowed: any page can make itself null")
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"origin {value!r} must start with http:// or https://")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"origin {value!r} must be scheme://host[:port], without a path "
                         "or trailing slash")
    host = (parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]")
            and ":" in parts.netloc else parts.netloc).lower()
    if not _HOST.fullmatch(host):
        raise ValueError(f"origin {value!r} has no valid host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"origin {value!r} has an invalid port") from None
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class CorsRule(BaseModel):
    """``[[cors.rules]]``: which browser origins may read which paths' answers."""

    model_config = ConfigDict(extra="forbid")

    # route groups of the operation table ("inventory", "prices"): every path of theirs
    route_groups: list[str] = []
    # and/or path prefixes: "/*/inventory" covers /v1/inventory and /v2/inventory/x
    path_prefixes: list[str] = []
    # exact origins, "https://*.example.com" for subdomains, or "*" without credentials
    origins: list[str] = Field(min_length=1)
    methods: list[str] = ["GET", "POST"]
    # request headers a page may send (compared case-insensitively)
    headers: list[str] = ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID",
                          "Idempotency-Key"]
    expose_headers: list[str] = Field(default_factory=lambda: list(DEFAULT_EXPOSED))
    # cookies or HTTP auth sent by the browser itself; never with a wildcard origin
    allow_credentials: bool = False
    max_age_seconds: int = Field(default=600, ge=0, le=86_400)
    # only these clients' answers carry CORS headers; empty: any client's
    clients: list[str] = []

    @field_validator("path_prefixes")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not prefix.startswith("/"):
                raise ValueError(f"path prefix {prefix!r} must start with '/'")
        return value

    @field_validator("origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return [_origin(v) for v in value]

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        for method in value:
            if not _TOKEN.fullmatch(method) or method == "*":
                raise ValueError(f"{method!r} is not a method name")
        return [m.upper() for m in value]

    @field_validator("headers", "expose_headers")
    @classmethod
    def _header_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _TOKEN.fullmatch(name) or name == "*":
                raise ValueError(f"{name!r} is not a header name (wildcards are not allowed)")
        return value

    @model_validator(mode="after")
    def _covers_something(self) -> Self:
        if not self.route_groups and not self.path_prefixes:
            raise ValueError("name route_groups or path_prefixes (or both)")
        return self

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self) -> Self:
        if self.allow_credentials and any("*" in origin for origin in self.origins):
            raise ValueError("allow_credentials cannot be combined with a wildcard origin: "
                             "name each origin")
        return self


class CorsConfig(BaseModel):
    """``[cors]``: browser access rules; none means no CORS headers anywhere."""

    model_config = ConfigDict(extra="forbid")

    rules: list[CorsRule] = []


def _prefix_pattern(prefix: str) -> re.Pattern[str]:
    segments = [s for s in prefix.split("/") if s]
    body = "".join("/[^/]+" if s == "*" else "/" + re.escape(s) for s in segments)
    return re.compile(body + "(?:/|$)")


def _template_pattern(template: str) -> re.Pattern[str]:
    """``/v1/inventory/{sku}`` matches ``/v1/inventory/SKU-1`` exactly."""
    segments = template.split("/")[1:]
    body = "".join("/[^/]+" if s.startswith("{") and s.endswith("}") else "/" + re.escape(s)
                   for s in segments)
    return re.compile(body + "$")


class _Rule:
    __slots__ = ("any_origin", "clients", "credentials", "exact", "expose", "headers",
                 "max_age", "methods", "paths", "suffixes", "allow_methods", "allow_headers")

    def __init__(self, rule: CorsRule, group_paths: Mapping[str, Sequence[str]]) -> None:
        unknown = sorted(set(rule.route_groups) - set(group_paths))
        if unknown:
            raise ValueError(f"unknown route group(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(group_paths)) or '(none)'}")
        self.paths = (*(_prefix_pattern(p) for p in rule.path_prefixes),
                      *(_template_pattern(t) for g in rule.route_groups for t in group_paths[g]))
        self.any_origin = "*" in rule.origins
        self.exact = frozenset(o for o in rule.origins if "*" not in o)
        # "https://*.example.com" -> ("https://", ".example.com", ""), port kept apart
        self.suffixes = tuple(_wildcard(o) for o in rule.origins if "*." in o)
        self.methods = frozenset(rule.methods)
        self.headers = frozenset(h.lower() for h in rule.headers)
        self.credentials = rule.allow_credentials
        self.max_age = str(rule.max_age_seconds).encode()
        self.expose = ", ".join(rule.expose_headers).encode()
        self.allow_methods = ", ".join(rule.methods).encode()
        self.allow_headers = ", ".join(rule.headers).encode()
        self.clients = frozenset(rule.clients)

    def covers(self, path: str) -> bool:
        return any(p.match(path) for p in self.paths)

    def allows(self, origin: str) -> bool:
        if self.any_origin or origin in self.exact:
            return True
        for scheme, suffix, port in self.suffixes:
            if not origin.startswith(scheme):
                continue
            rest = origin[len(scheme):]
            host, _, origin_port = rest.partition(":")
            if (origin_port == port and host.endswith(suffix) and len(host) > len(suffix)
                    and _DNS_NAME.fullmatch(host)):
                return True
        return False


def _wildcard(origin: str) -> tuple[str, str, str]:
    scheme, _, rest = origin.partition("://")
    host, _, port = rest.partition(":")
    return scheme + "://", host[1:], port


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"origin" not in value.lower():
                headers[i] = (name, value + b", Origin")
            return headers
    headers.append((b"vary", b"Origin"))
    return headers


class CorsMiddleware:
    """Answers preflights and adds CORS headers to answers for allowed origins."""

    def __init__(self, app: ASGIApp, config: CorsConfig,
                 group_paths: Mapping[str, Sequence[str]] | None = None) -> None:
        """``group_paths``: each route group's path templates, for rules that name groups."""
        self.app = app
        self.rules = tuple(_Rule(r, group_paths or {}) for r in config.rules)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.rules:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        covering = [r for r in self.rules if r.covers(path)]
        if not covering:
            await self.app(scope, receive, send)
            return
        origin_raw: bytes | None = None
        request_method: bytes | None = None
        request_headers: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin_raw = value
            elif name == b"access-control-request-method":
                request_method = value
            elif name == b"access-control-request-headers":
                request_headers = value
        origin = origin_raw.decode("latin-1") if origin_raw is not None else None
        if scope["method"] == "OPTIONS" and origin is not None and request_method is not None:
            await self._preflight(scope, receive, send, covering, origin, request_method,
                                  request_headers)
            return
        allowed = ([r for r in covering if r.allows(origin)] if origin is not None else [])
        await self.app(scope, receive, self._with_headers(scope, send, origin, allowed))

    def _with_headers(self, scope: Scope, send: Send, origin: str | None,
                      allowed: Sequence[_Rule]) -> Send:
        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = _vary_origin(list(message.get("headers", ())))
                rule = self._for_client(scope, allowed)
                if rule is not None and origin is not None:
                    headers.append((b"access-control-allow-origin", origin.encode("latin-1")
                                    if rule.credentials or not rule.any_origin else b"*"))
                    if rule.credentials:
                        headers.append((b"access-control-allow-credentials", b"true"))
                    if rule.expose:
                        headers.append((b"access-control-expose-headers", rule.expose))
                message["headers"] = headers
            await send(message)

        return send_with_cors

    @staticmethod
    def _for_client(scope: Scope, allowed: Sequence[_Rule]) -> _Rule | None:
        if not allowed:
            return None
        state: dict[str, Any] = scope.get("state") or {}
        principal = state.get(PRINCIPAL_STATE_KEY)
        client = getattr(principal, "client_id", None)
        for rule in allowed:
            if not rule.clients or client in rule.clients:
                return rule
        return None

    async def _preflight(self, scope: Scope, receive: Receive, send: Send,
                         covering: Sequence[_Rule], origin: str, method: bytes,
                         headers: bytes | None) -> None:
        by_origin = [r for r in covering if r.allows(origin)]
        wanted_method = method.decode("latin-1").strip()
        wanted_headers = {h.strip().lower() for h in
                          (headers.decode("latin-1").split(",") if headers else ()) if h.strip()}
        refusal: str
        if not by_origin:
            refusal = f"origin {origin!r} may not call {scope['path']} from a browser"
        else:
            for rule in by_origin:
                if wanted_method in rule.methods and wanted_headers <= rule.headers:
                    await self._allow(send, rule, origin)
                    return
            refusal = (f"a page on {origin} may not send {wanted_method} with headers "
                       f"{sorted(wanted_headers) or '(none)'} to {scope['path']}")
        problem = Forbidden(refusal, headers={"Vary": "Origin"})
        await problem(scope, receive, send)

    @staticmethod
    async def _allow(send: Send, rule: _Rule, origin: str) -> None:
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")
             if rule.credentials or not rule.any_origin else b"*"),
            (b"access-control-allow-methods", rule.allow_methods),
            (b"access-control-allow-headers", rule.allow_headers),
            (b"access-control-max-age", rule.max_age),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        if rule.credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
