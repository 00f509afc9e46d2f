"""Authentication as pure ASGI middleware, and ``require_scope`` for the routes behind it."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from policies.auth.authenticator import REALM, Authenticator
from policies.auth.types import PRINCIPAL_STATE_KEY, Principal
from policies.auth.types import Scope as ScopeName
from policies.problems import Forbidden, Unauthorized

# RFC 6455 close code for "policy violation": how a websocket is refused before accept
_WS_POLICY_VIOLATION = 1008


class AuthMiddleware:
    def __init__(self, app: ASGIApp, authenticator: Authenticator,
                 public_paths: Sequence[str]) -> None:
        self.app = app
        self.authenticator = authenticator
        # "/docs" covers "/docs" and "/docs/…", not "/docsearch"
        stripped = [p.rstrip("/") for p in public_paths]
        self._public_exact = frozenset(p or "/" for p in stripped)
        self._public_prefixes = tuple(p + "/" for p in stripped)

    def is_public(self, path: str) -> bool:
        return path in self._public_exact or path.startswith(self._public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(scope["headers"])
        except Unauthorized as problem:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION})
            else:
                await problem(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = principal
        await self.app(scope, receive, send)


def current_principal(request_or_scope: HTTPConnection | Scope) -> Principal | None:
    """The Principal the middleware stored, or None on public paths."""
    scope = request_or_scope.scope if isinstance(request_or_scope,
                                                 HTTPConnection) else request_or_scope
    principal = scope.get("state", {}).get(PRINCIPAL_STATE_KEY)
    return principal if isinstance(principal, Principal) else None


def require_scope(request_or_scope: HTTPConnection | Scope, scope_name: ScopeName) -> Principal:
    """The caller if it holds ``scope_name``; else Forbidden (403), Unauthorized if anonymous."""
    principal = current_principal(request_or_scope)
    if principal is None:
        raise Unauthorized("this operation needs authentication")
    if scope_name not in principal.scopes:
        headers = {}
        if principal.method != "api_key":
            headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", '
                                           f'error="insufficient_scope", scope="{scope_name}"')
        raise Forbidden(f"missing scope '{scope_name}'", headers=headers,
                        extensions={"required_scope": scope_name})
    return principal
