"""The one assembly: a ``Settings`` value becomes an ASGI app.

``create_app`` builds the policy chain and the router from the operation table; the
lifespan builds one set of services from the same settings (one Redis client, one ERP
connector, one cache, one shipping service), binds them to the handlers and closes them
at shutdown. The embedded demo is a ``Settings`` value like any other
(``Settings.embedded_demo()``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache

from starlette.applications import Starlette
from starlette.middleware import Middleware

from caching import TieredCache
from gateway.catalog import CatalogService
from gateway.dispatch import Router
from gateway.edge import edge_middleware
from gateway.erp.base import ErpConnector, ErpError, LoginCheck, connect_check
from gateway.erp.counting import CountingConnector
from gateway.errors import EXCEPTION_HANDLERS
from gateway.observability.appliers import LiveParts, live_appliers
from gateway.observability.control import WorkerControl
from gateway.observability.ops import Operations
from gateway.observability.reload import Reloader
from gateway.operations import operations
from gateway.routes.contracts import Contracts
from gateway.routes.health import ReadinessProbe
from gateway.services import (
    Services,
    cache_config,
    close_redis,
    erp_connector,
    order_service,
    rate_limiter,
    redis_client,
    shipping_service,
)
from gateway.settings import Settings
from policies.auth import AuthGate, build_auth
from policies.chain import PolicyChain
from policies.limits import HeaderBoundsGate
from policies.ratelimit import RateLimitGate
from policies.versioning import VersionGate

log = logging.getLogger("gateway")


@cache
def _contracts() -> Contracts:
    # the documents depend on the table alone: render them once per process
    return Contracts(operations())


async def _announce_erp(connector: CountingConnector) -> None:
    """For an ERP that takes credentials, log in at start-up and say whether it worked
    (wrong credentials must not go unseen); the gateway starts either way."""
    if not isinstance(connector.inner, LoginCheck):
        return
    try:
        log.info("ERP ready: %s", await connect_check(connector))
    except ErpError as exc:
        log.error("ERP NOT USABLE at start-up (%s): %s; requests needing it fail until it "
                  "recovers (failed logins are retried with back-off)", connector.name, exc)


def create_app(settings: Settings, *, erp: ErpConnector | None = None,
               control: WorkerControl | None = None, config_path: str | None = None,
               tracer_provider: object = None) -> Starlette:
    """Build the ASGI app. ``erp`` replaces the configured connector (tests, drills);
    ``control`` is the worker's (drain, reload: ``erp-gateway serve`` passes it);
    ``config_path`` is the file a reload reads; ``tracer_provider`` an OpenTelemetry SDK
    provider that replaces the configured export (tests)."""
    ops = Operations(settings, control=control, tracer_provider=tracer_provider)
    # clients connect lazily: building them here lets the gates hold them
    redis = redis_client(settings.redis) if settings.redis else None
    assert settings.auth is not None  # Settings requires it (the demo fills in its own)
    auth = build_auth(settings.auth, redis=redis)
    # one client per replica: cache, limiter, auth and label store share it
    limiter = rate_limiter(settings, redis)
    router = Router(operations())
    ops.tracing.templates = {op.operation_id: op.path for op in router.operations()}
    gates = LiveGates(AuthGate(auth.authenticator, ()), VersionGate(settings.versioning),
                      RateLimitGate(settings.ratelimit, limiter))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        counting = CountingConnector(erp or erp_connector(settings))
        await _announce_erp(counting)
        # every call metered and traced; the counting layer keeps its own tallies
        connector = ops.erp(counting)
        shipping = shipping_service(settings, redis)
        ops.instrument_shipping(shipping)
        tiered = TieredCache(cache_config(settings), redis)
        await tiered.start()
        readiness = ReadinessProbe(connector, redis, tiered, limiter, ops.control)
        reloader = Reloader(settings, config_path, {}, ops.metrics)
        catalog = CatalogService(connector, tiered)
        ops.instrument_catalog(catalog)
        orders = order_service(settings, connector, catalog, shipping.purchases.store, redis)

        def applied(running: Settings) -> None:
            services.settings = running
            router.bind(services, services.limits)  # handlers see the replaced services

        services = Services(
            settings=settings, erp=counting, catalog=catalog, orders=orders,
            shipping=shipping, cache=tiered, limiter=limiter, auth=auth, readiness=readiness,
            ops=ops, reloader=reloader, contracts=_contracts(), limits=settings.limits,
            webhooks=dict(settings.webhooks), redis=redis)
        parts = LiveParts(auth_gate=gates.auth, version_gate=gates.version,
                          ratelimit_gate=gates.ratelimit, cache=tiered, services=services,
                          redis=redis)
        reloader.appliers = live_appliers(parts)
        reloader.on_applied = applied
        ops.control.reload = reloader.reload
        router.bind(services, settings.limits)
        # for tests and tooling that inspect a running app; handlers get theirs bound
        app.state.services = services
        ops.start(cache=tiered, limiter=limiter, redis=redis)
        try:
            yield
        finally:
            readiness.draining = True
            await ops.stop()
            router.unbind()
            await orders.aclose()
            for retired in parts.retired:
                await retired.aclose()
            await tiered.stop()
            await shipping.aclose()
            await connector.aclose()
            await services.auth.aclose()
            await limiter.aclose()
            if redis is not None:
                await close_redis(redis)

    app = Starlette(
        routes=[router],
        # every policy in one layer (see policies.chain), after the chain resolved the
        # operation: bounds first (they cost nothing to check), then auth and its scope
        # check; versioning and rate limits read the principal, and version refusals cost
        # no quota
        middleware=[*ops.middleware(), *edge_middleware(settings), Middleware(PolicyChain, gates=[
            HeaderBoundsGate(settings.limits), gates.auth, gates.version, gates.ratelimit,
        ], request_ids=True, observe=ops.observer, resolve=router.resolve)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app


@dataclass(frozen=True)
class LiveGates:
    """The gates a configuration reload reconfigures in place."""

    auth: AuthGate
    version: VersionGate
    ratelimit: RateLimitGate
