"""The app factory: assembles policies, caching and carriers around the route table."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from functools import cache

from starlette.applications import Starlette
from starlette.middleware import Middleware

from caching import TieredCache
from gateway.catalog import CatalogService
from gateway.contract import build_routes
from gateway.erp import build_connector
from gateway.erp.base import ErpConnector
from gateway.errors import EXCEPTION_HANDLERS
from gateway.metrics import MetricsMiddleware, RequestMetrics
from gateway.resources import redis_client, shipping_service
from gateway.routes import operations
from gateway.services import Services
from gateway.settings import Settings
from policies.auth import AuthConfig, AuthMiddleware, build_auth, demo_auth_config, require_scope
from policies.ratelimit import RateLimiter, RateLimitMiddleware
from policies.request_id import RequestIdMiddleware
from policies.versioning import VersioningMiddleware

log = logging.getLogger("gateway")


@cache
def _demo_auth() -> AuthConfig:
    # hashing the demo secrets costs ~0.5 s of scrypt: once per process is enough
    return demo_auth_config()


def create_app(settings: Settings, *, erp: ErpConnector | None = None) -> Starlette:
    """Build the ASGI app. ``erp`` replaces the configured connector (tests, drills)."""
    auth = build_auth(settings.auth or _demo_auth())
    metrics = RequestMetrics()
    # clients connect lazily: building them here lets the middleware hold them
    redis = redis_client(settings.redis) if settings.redis else None
    limiter = (RateLimiter.from_url(settings.ratelimit, settings.redis.url) if settings.redis
               else RateLimiter.local(settings.ratelimit))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        connector = erp or build_connector(settings.erp)
        shipping = shipping_service(settings, redis)
        cache = TieredCache(settings.cache, redis)
        await cache.start()
        svc = Services(settings=settings, erp=connector, catalog=CatalogService(connector, cache),
                       shipping=shipping, redis=redis, cache=cache, metrics=metrics,
                       limiter=limiter)
        app.state.services = svc
        try:
            yield
        finally:
            svc.draining = True
            await cache.stop()
            await shipping.aclose()
            await connector.aclose()
            await auth.aclose()
            await limiter.aclose()
            if redis is not None:
                await redis.aclose()

    return Starlette(
        routes=[*build_routes(operations(), require_scope), *auth.routes()],
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(AuthMiddleware, authenticator=auth.authenticator,
                       public_paths=auth.config.public_paths),
            # after auth (they read the principal); version refusals cost no quota
            Middleware(VersioningMiddleware, config=settings.versioning),
            Middleware(RateLimitMiddleware, config=settings.ratelimit, limiter=limiter),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
