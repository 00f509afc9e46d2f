"""The live sections' appliers for ``Reloader``: how each one reaches the running parts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from caching import TieredCache
from carriers.fallback import FallbackTable
from gateway.observability.reload import Applier
from gateway.settings import Settings
from policies.auth import AuthGate, build_auth
from policies.auth.components import AuthComponents
from policies.ratelimit import RateLimitGate
from policies.versioning import VersionGate

__all__ = ["LiveParts", "live_appliers"]


@dataclass
class LiveParts:
    """The running objects a reload reconfigures."""

    auth_gate: AuthGate
    version_gate: VersionGate
    ratelimit_gate: RateLimitGate
    cache: TieredCache
    # what handlers are bound to (``gateway.services.Services``)
    services: Any
    # the Redis client the auth components share (token rate limits), if any
    redis: Any = None
    # replaced authenticators, closed when the app stops (requests may still hold them)
    retired: list[AuthComponents] = field(default_factory=list)


def live_appliers(parts: LiveParts) -> dict[str, Applier]:
    """Appliers by dotted section name (see ``gateway.observability.reload.LIVE``)."""

    def auth(new: Settings) -> Callable[[], None]:
        assert new.auth is not None  # Settings fills in the demo's own clients
        built = build_auth(new.auth, redis=parts.redis)  # ValueError: an unusable key

        def commit() -> None:
            # public operations come from the operation table, not from paths
            parts.auth_gate.reconfigure(built.authenticator, ())
            parts.retired.append(parts.services.auth)
            parts.services.auth = built  # the token and JWKS handlers, once rebound
        return commit

    def ratelimit(new: Settings) -> Callable[[], None]:
        return lambda: parts.ratelimit_gate.reconfigure(new.ratelimit)

    def versioning(new: Settings) -> Callable[[], None]:
        return lambda: parts.version_gate.reconfigure(new.versioning)

    def cache(new: Settings) -> Callable[[], None]:
        return lambda: parts.cache.set_policies(new.cache.policies)

    def fallback(new: Settings) -> Callable[[], None]:
        assert new.shipping is not None  # Settings fills in the demo's sandbox accounts
        table = FallbackTable(new.shipping.fallback.rules)

        def commit() -> None:
            parts.services.shipping.fallback = table
        return commit

    def webhooks(new: Settings) -> Callable[[], None]:
        def commit() -> None:
            # the signed-webhook handler holds this dict: replace its contents
            parts.services.webhooks.clear()
            parts.services.webhooks.update(new.webhooks)
        return commit

    def log_level(new: Settings) -> Callable[[], None]:
        return lambda: logging.getLogger().setLevel(new.logging.level.upper())

    return {
        "auth": auth,
        "ratelimit.plans": ratelimit,
        "ratelimit.default_plan": ratelimit,
        "versioning": versioning,
        "cache.policies": cache,
        "shipping.fallback": fallback,
        "webhooks": webhooks,
        "logging.level": log_level,
    }
