"""Rate limits per client, route group and method, shared across replicas through Redis.

``RateLimitMiddleware`` (pure ASGI, after auth) asks a ``RateLimiter`` for a ``Decision``;
the limiter counts on ``limits``' sliding-window-counter keys in Redis, either per request
(``strict``) or through small reserved allowances synced in the background (``synced``,
the default), and falls back to a per-replica share of each limit while Redis is away.
The trade-off between the modes is described in ``policies.ratelimit.limiter``.
"""

from policies.ratelimit.config import PlanConfig, RateLimitConfig, RouteGroup, parse_limit
from policies.ratelimit.limiter import Decision, RateLimiter, limit_key
from policies.ratelimit.middleware import RateLimitedPrincipal, RateLimitGate, RateLimitMiddleware
from policies.ratelimit.redis_store import RedisCounters, RedisUnavailable
from policies.ratelimit.window import LocalWindows, Window

__all__ = [
    "Decision",
    "LocalWindows",
    "PlanConfig",
    "RateLimitConfig",
    "RateLimitGate",
    "RateLimitMiddleware",
    "RateLimitedPrincipal",
    "RateLimiter",
    "RedisCounters",
    "RedisUnavailable",
    "RouteGroup",
    "Window",
    "limit_key",
    "parse_limit",
]
