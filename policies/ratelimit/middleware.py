"""Rate limiting per client, route group and method, after authentication: a gate
(``RateLimitGate``, see ``policies.chain``) and the pure ASGI middleware running it alone.

Every limited response carries the IETF httpapi ratelimit-headers fields (structured fields)::

    RateLimit-Policy: "inventory";q=100;w=60
    RateLimit: "inventory";r=42;t=17

A rejection is a ``TooManyRequests`` problem with the same fields plus ``Retry-After``.
Requests without a principal, or outside every route group, or in a group the caller's
plan does not limit, pass through untouched. The route group is the resolved operation's
(``state["route"].group``, from the gateway's operation table) when the chain resolved one;
the configured ``route_groups`` (path prefixes) serve the middleware used on its own.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
from limits import RateLimitItem
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.chain import ROUTE_STATE_KEY, Headers, PolicyChain, RoutePolicy
from policies.problems import TooManyRequests
from policies.ratelimit.config import RateLimitConfig, RouteGroup
from policies.ratelimit.limiter import Clock, Decision, RateLimiter, limit_key

logger = logging.getLogger("policies.ratelimit")

_KEY_CACHE_SIZE = 65_536  # (client, method) pairs per policy; cleared, not evicted, when full


class RateLimitedPrincipal(Protocol):
    """What this middleware reads of ``scope["state"]["principal"]``."""

    @property
    def key(self) -> str:
        """The caller's identity for state, qualified by its issuer (never a bare ``sub``)."""
        ...

    @property
    def plan(self) -> str: ...


@dataclass(slots=True)
class _Policy:
    group: str
    item: RateLimitItem
    policy_header: bytes = field(init=False)
    _quoted: bytes = field(init=False)
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.policy_header = policy_header(self.group, self.item)
        self._quoted = f'"{self.group}"'.encode("ascii")  # group names are tokens

    def current_header(self, decision: Decision) -> bytes:
        """The ``RateLimit`` field: ``"<group>";r=<remaining>;t=<reset>``."""
        return b"%s;r=%d;t=%d" % (self._quoted, decision.remaining, decision.reset)

    def key_for(self, client_id: str, method: str) -> str:
        key = self.keys.get((client_id, method))
        if key is None:
            if len(self.keys) >= _KEY_CACHE_SIZE:
                self.keys.clear()
            key = self.keys[(client_id, method)] = limit_key(self.item, client_id, self.group,
                                                             method)
        return key


def prefix_pattern(prefix: str) -> re.Pattern[str]:
    """``/*/inventory`` matches ``/v1/inventory`` and ``/v1/inventory/x``, not ``/v1/inventoryx``"""
    segments = [s for s in prefix.split("/") if s]
    body = "".join("/[^/]+" if s == "*" else "/" + re.escape(s) for s in segments)
    return re.compile(body + "(?:/|$)")


class _GroupMatcher:
    """First route group whose prefix (``*`` = any one segment) and methods match."""

    def __init__(self, groups: list[RouteGroup]) -> None:
        self._rules: list[tuple[re.Pattern[str], frozenset[str] | None, str]] = [
            (prefix_pattern(prefix),
             frozenset(group.methods) if group.methods is not None else None, group.name)
            for group in groups for prefix in group.path_prefixes
        ]

    def match(self, path: str, method: str) -> str | None:
        for pattern, methods, name in self._rules:
            if (methods is None or method in methods) and pattern.match(path):
                return name
        return None


def policy_header(group: str, item: RateLimitItem) -> bytes:
    return f'"{group}";q={item.amount};w={item.get_expiry()}'.encode("ascii")


class RateLimitGate:
    """Limits requests per ``(principal.key, route group, method)`` under the plan's
    limit, as a gate (see ``policies.chain``): admitted requests get the two header fields,
    refused ones a ``TooManyRequests`` problem."""

    name = "ratelimit"

    def __init__(self, config: RateLimitConfig, limiter: RateLimiter) -> None:
        self.config = config
        self.limiter = limiter
        self._groups = _GroupMatcher(config.route_groups)
        self._plans: dict[str, dict[str, _Policy]] = {
            name: {group: _Policy(group, item)
                   for group, item in plan.items().items()}
            for name, plan in config.plans.items()
        }
        self._default = self._plans.get(config.default_plan) if config.default_plan else None
        self._unknown_plans: set[object] = set()

    def reconfigure(self, config: RateLimitConfig) -> None:
        """Apply new plans and route groups (a config reload) from the next request on."""
        self.__init__(config, self.limiter)  # type: ignore[misc]

    async def __call__(self, scope: Scope, state: dict[str, Any]) -> Headers:
        if scope["type"] != "http":
            return ()
        principal: RateLimitedPrincipal | None = state.get("principal")
        if principal is None:
            return ()
        policy = self._policy_for(scope, state, principal)
        if policy is None:
            return ()
        key = policy.key_for(principal.key, scope["method"])
        decision = self.limiter.acquire_nowait(key, policy.item)
        if decision is None:
            decision = await self.limiter.acquire(key, policy.item)
        current = policy.current_header(decision)
        if not decision.allowed:
            raise TooManyRequests(
                f"Rate limit of {policy.item.amount} requests per {policy.item.get_expiry()} s "
                f"for {policy.group!r} exceeded; retry in {decision.retry_after} s.",
                retry_after=decision.retry_after,
                headers={"RateLimit-Policy": policy.policy_header.decode(),
                         "RateLimit": current.decode()},
                extensions={"policy": policy.group},
            )
        return ((b"ratelimit-policy", policy.policy_header), (b"ratelimit", current))

    def _policy_for(self, scope: Scope, state: dict[str, Any],
                    principal: RateLimitedPrincipal) -> _Policy | None:
        route: RoutePolicy | None = state.get(ROUTE_STATE_KEY)
        if route is not None:
            group: str | None = route.group
        else:
            path: str = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root):]
            group = self._groups.match(path, scope["method"])
        if group is None:
            return None
        name = getattr(principal, "plan", None)
        plan = self._plans.get(name, self._default) if isinstance(name, str) else self._default
        if plan is None:
            if name not in self._unknown_plans:  # plan names come from our registry: few
                self._unknown_plans.add(name)
                logger.warning("plan %r has no rate limits and no default_plan is set", name)
            return None
        return plan.get(group)


class RateLimitMiddleware(PolicyChain):
    """``RateLimitGate`` alone, as pure ASGI middleware after authentication.

    Give it a ``limiter`` shared with the app (so /readyz can read ``limiter.degraded``), or
    a ``storage_uri`` / ``redis`` client to build one it owns and closes at lifespan shutdown.
    """

    def __init__(self, app: ASGIApp, config: RateLimitConfig, storage_uri: str | None = None,
                 *, redis: aioredis.Redis | None = None, limiter: RateLimiter | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.config = config
        self._owns_limiter = limiter is None
        if limiter is not None:
            self.limiter = limiter
        elif redis is not None:
            self.limiter = RateLimiter.from_client(config, redis, clock=clock)
        elif storage_uri is not None:
            self.limiter = RateLimiter.from_url(config, storage_uri, clock=clock)
        else:
            raise ValueError("RateLimitMiddleware needs a limiter, a redis client or a storage_uri")
        super().__init__(app, [RateLimitGate(config, self.limiter)])

    @property
    def degraded(self) -> bool:
        return self.limiter.degraded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self._owns_limiter:
            receive = self._close_on_shutdown(receive)
        await super().__call__(scope, receive, send)

    def _close_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_and_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.limiter.aclose()
            return message

        return receive_and_close
