"""Run the gateway app in-process (lifespan included) behind an httpx client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import Settings

STOREFRONT = {"X-API-Key": "demo-storefront-key"}
WAREHOUSE = {"X-API-Key": "demo-warehouse-key"}
ADMIN = {"X-API-Key": "demo-admin-key"}


@contextlib.asynccontextmanager
async def running(app: Starlette, base_url: str = "http://gateway.test"
                  ) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@contextlib.asynccontextmanager
async def gateway(settings: Settings | None = None, **kwargs: Any
                  ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings or Settings.embedded_demo(), **kwargs)
    async with running(app) as client:
        yield app, client
