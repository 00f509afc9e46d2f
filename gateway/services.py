"""What a running gateway holds: built in the lifespan, read by the routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from gateway.catalog import CatalogService
from gateway.erp.base import ErpConnector
from gateway.settings import Settings


@dataclass
class Services:
    settings: Settings
    erp: ErpConnector
    catalog: CatalogService
    redis: Any = None
    # set while the app shuts down: readiness answers 503 so balancers drain it
    draining: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
