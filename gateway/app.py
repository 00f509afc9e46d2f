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
from gateway.metrics import RequestMetrics
from gateway.resources import redis_client, shipping_service
from gateway.routes import operations
from gateway.services import Services
from gateway.settings import Settings
from policies.auth import AuthConfig, AuthGate, build_auth, demo_auth_config, require_scope
from policies.chain import PolicyChain
from policies.ratelimit import RateLimiter, RateLimitGate
from policies.versioning import VersionGate

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
        # every policy in one layer (see policies.chain); versioning and rate limits come
        # after auth (they read the principal), and version refusals cost no quota
        middleware=[Middleware(PolicyChain, gates=[
            AuthGate(auth.authenticator, auth.config.public_paths),
            VersionGate(settings.versioning),
            RateLimitGate(settings.ratelimit, limiter),
        ], request_ids=True, observe=metrics.observe_request)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
