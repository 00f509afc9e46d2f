"""What a running gateway holds: built once by ``create_app``, handed to handlers by name.

A handler names the services it uses as parameters (``catalog``, ``shipping`` …, see
``gateway.dispatch``); they are bound when the app is assembled, never looked up per
request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caching import TieredCache
from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp.counting import CountingConnector
from gateway.observability.ops import Operations
from gateway.observability.reload import Reloader
from gateway.orders.service import OrderService
from gateway.routes.contracts import Contracts
from gateway.routes.health import ReadinessProbe
from gateway.settings import Settings, WebhookSource
from policies.auth import AuthComponents
from policies.limits import InputLimits
from policies.ratelimit import RateLimiter


@dataclass
class Services:
    settings: Settings
    # every connector is wrapped so that its calls are counted the same way
    erp: CountingConnector
    catalog: CatalogService
    orders: OrderService
    shipping: ShippingService
    cache: TieredCache
    limiter: RateLimiter
    auth: AuthComponents
    readiness: ReadinessProbe
    # metrics, traces, logs, the worker's control (drain, reload)
    ops: Operations
    reloader: Reloader
    contracts: Contracts
    limits: InputLimits
    webhooks: dict[str, WebhookSource]
    redis: Any = None


__all__ = ["Services"]
