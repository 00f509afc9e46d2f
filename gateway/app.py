"""The app factory: assembles policies, caching and carriers around the route table."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware

from gateway.catalog import CatalogService
from gateway.contract import Authorize, build_routes
from gateway.erp import build_connector
from gateway.erp.base import ErpConnector
from gateway.errors import EXCEPTION_HANDLERS
from gateway.routes import operations
from gateway.services import Services
from gateway.settings import Settings
from policies.request_id import RequestIdMiddleware

log = logging.getLogger("gateway")


def create_app(settings: Settings, *, erp: ErpConnector | None = None,
               authorize: Authorize = lambda request, scope: None) -> Starlette:
    """Build the ASGI app. ``erp`` replaces the configured connector (tests, drills)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        connector = erp or build_connector(settings.erp)
        svc = Services(settings=settings, erp=connector, catalog=CatalogService(connector))
        app.state.services = svc
        try:
            yield
        finally:
            svc.draining = True
            await connector.aclose()

    return Starlette(
        routes=build_routes(operations(), authorize),
        middleware=[Middleware(RequestIdMiddleware)],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
