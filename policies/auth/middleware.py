"""Authentication as a gate (``AuthGate``) and pure ASGI middleware; ``require_scope`` for the
routes behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Scope

from policies.auth.authenticator import REALM, Authenticator
from policies.auth.types import PRINCIPAL_STATE_KEY, Principal, ScopeName
from policies.chain import ROUTE_STATE_KEY, Headers, PolicyChain, RoutePolicy
from policies.problems import Forbidden, Unauthorized


class AuthGate:
    """Leaves the caller's Principal in ``state["principal"]``, or refuses with a 401 problem.

    When the chain resolved the operation (``state["route"]``, a ``RoutePolicy``), the
    operation says whether it is public and which scope it needs (403 without it, before
    any quota is spent); otherwise ``public_paths`` (prefixes) decide, and scopes are the
    routes' business (``require_scope``). Public requests carry no principal.
    """

    name = "auth"

    def __init__(self, authenticator: Authenticator, public_paths: Sequence[str]) -> None:
        self.authenticator = authenticator
        # "/docs" covers "/docs" and "/docs/…", not "/docsearch"
        stripped = [p.rstrip("/") for p in public_paths]
        self._public_exact = frozenset(p or "/" for p in stripped)
        self._public_prefixes = tuple(p + "/" for p in stripped)

    def reconfigure(self, authenticator: Authenticator, public_paths: Sequence[str]) -> None:
        """New clients and keys (a config reload) from the next request on."""
        self.__init__(authenticator, public_paths)  # type: ignore[misc]

    def is_public(self, path: str) -> bool:
        return path in self._public_exact or path.startswith(self._public_prefixes)

    async def __call__(self, scope: Scope, state: dict[str, Any]) -> Headers:
        route: RoutePolicy | None = state.get(ROUTE_STATE_KEY)
        if route is not None:
            if not route.public:
                principal = await self.authenticator.authenticate(scope["headers"])
                state[PRINCIPAL_STATE_KEY] = principal
                if route.scope is not None and route.scope not in principal.scopes:
                    raise insufficient_scope(principal, route.scope)
            return ()
        path: str = scope["path"]
        if not (path in self._public_exact or path.startswith(self._public_prefixes)):
            state[PRINCIPAL_STATE_KEY] = await self.authenticator.authenticate(scope["headers"])
        return ()


class AuthMiddleware(PolicyChain):
    """``AuthGate`` alone; a refused websocket is closed (1008) before it is accepted."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator,
                 public_paths: Sequence[str]) -> None:
        self.gate = AuthGate(authenticator, public_paths)
        self.authenticator = authenticator
        super().__init__(app, [self.gate])

    def is_public(self, path: str) -> bool:
        return self.gate.is_public(path)


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
        raise insufficient_scope(principal, scope_name)
    return principal


def insufficient_scope(principal: Principal, scope_name: str) -> Forbidden:
    """The 403 for a caller without ``scope_name`` (with RFC 6750's challenge for tokens)."""
    headers = {}
    if principal.method != "api_key":
        headers["WWW-Authenticate"] = (f'Bearer realm="{REALM}", '
                                       f'error="insufficient_scope", scope="{scope_name}"')
    return Forbidden(f"missing scope '{scope_name}'", headers=headers,
                     extensions={"required_scope": scope_name})
