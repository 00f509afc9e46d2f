"""Pure ASGI rate limiting per client, route group and method, after authentication.

Every limited response carries the IETF httpapi ratelimit-headers fields (structured fields)::

    RateLimit-Policy: "inventory";q=100;w=60
    RateLimit: "inventory";r=42;t=17

A rejection is a ``TooManyRequests`` problem with the same fields plus ``Retry-After``.
Requests without a principal, or outside every route group, or in a group the caller's
plan does not limit, pass through untouched.
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

from policies.problems import TooManyRequests
from policies.ratelimit.config import RateLimitConfig, RouteGroup
from policies.ratelimit.limiter import Clock, Decision, RateLimiter, limit_key

logger = logging.getLogger("policies.ratelimit")

_KEY_CACHE_SIZE = 65_536  # (client, method) pairs per policy; cleared, not evicted, when full


class RateLimitedPrincipal(Protocol):
    """What this middleware reads of ``scope["state"]["principal"]``."""

    @property
    def client_id(self) -> str: ...

    @property
    def plan(self) -> str: ...


@dataclass(slots=True)
class _Policy:
    group: str
    item: RateLimitItem
    policy_header: bytes
    keys: dict[tuple[str, str], str] = field(default_factory=dict)

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


def ratelimit_header(group: str, decision: Decision) -> bytes:
    return f'"{group}";r={decision.remaining};t={decision.reset}'.encode("ascii")


class RateLimitMiddleware:
    """Limits requests per ``(principal.client_id, route group, method)`` under the plan's limit.

    Give it a ``limiter`` shared with the app (so /readyz can read ``limiter.degraded``), or
    a ``storage_uri`` / ``redis`` client to build one it owns and closes at lifespan shutdown.
    """

    def __init__(self, app: ASGIApp, config: RateLimitConfig, storage_uri: str | None = None,
                 *, redis: aioredis.Redis | None = None, limiter: RateLimiter | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.app = app
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
        self._groups = _GroupMatcher(config.route_groups)
        self._plans: dict[str, dict[str, _Policy]] = {
            name: {group: _Policy(group, item, policy_header(group, item))
                   for group, item in plan.items().items()}
            for name, plan in config.plans.items()
        }
        self._default = self._plans.get(config.default_plan) if config.default_plan else None
        self._unknown_plans: set[object] = set()

    @property
    def degraded(self) -> bool:
        return self.limiter.degraded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self._owns_limiter:
                receive = self._close_on_shutdown(receive)
            await self.app(scope, receive, send)
            return
        policy = self._policy_for(scope)
        if policy is None:
            await self.app(scope, receive, send)
            return
        principal: RateLimitedPrincipal = scope["state"]["principal"]
        key = policy.key_for(principal.client_id, scope["method"])
        decision = self.limiter.acquire_nowait(key, policy.item)
        if decision is None:
            decision = await self.limiter.acquire(key, policy.item)
        current = ratelimit_header(policy.group, decision)
        if not decision.allowed:
            problem = TooManyRequests(
                f"Rate limit of {policy.item.amount} requests per {policy.item.get_expiry()} s "
                f"for {policy.group!r} exceeded; retry in {decision.retry_after} s.",
                retry_after=decision.retry_after,
                headers={"RateLimit-Policy": policy.policy_header.decode(),
                         "RateLimit": current.decode()},
                extensions={"policy": policy.group},
            )
            await problem(scope, receive, send)
            return
        fields = ((b"ratelimit-policy", policy.policy_header), (b"ratelimit", current))

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *fields]}
            await send(message)

        await self.app(scope, receive, send_with_fields)

    def _policy_for(self, scope: Scope) -> _Policy | None:
        state: dict[str, Any] | None = scope.get("state")
        principal = state.get("principal") if state else None
        if principal is None:
            return None
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

    def _close_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_and_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.limiter.aclose()
            return message

        return receive_and_close
