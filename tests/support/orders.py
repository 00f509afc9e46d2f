"""Building an order service on the demo ERP for tests (no HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from caching import CacheConfig, TieredCache
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.models import Address
from gateway.catalog import CatalogService
from gateway.erp.base import Address as ErpAddress
from gateway.erp.base import (
    Availability,
    ErpConnector,
    ErpTimeout,
    NewOrder,
    Order,
    OrderLine,
)
from gateway.erp.demo import DemoConnector
from gateway.orders.config import OrdersConfig
from gateway.orders.models import OrderLineRequest, OrderRequest
from gateway.orders.records import OrderRecords
from gateway.orders.reservations import LocalReservations, Reservations
from gateway.orders.service import OrderService

SHIP_TO = Address(name="A. Buyer", street=["9 Elm St"], city="Denver", postal_code="80202",
                  country="US")


def order_request(*lines: tuple[str, str] | tuple[str, str, str], customer: str = "CUST-002",
                  reference: str = "WEB-1", warehouse: str = "any") -> OrderRequest:
    """Lines as (sku, quantity) or (sku, quantity, expected unit price)."""
    return OrderRequest(
        customer=customer, reference=reference, warehouse=warehouse, ship_to=SHIP_TO,
        lines=[OrderLineRequest(sku=line[0], quantity=Decimal(line[1]),
                                unit_price=Decimal(line[2]) if len(line) > 2 else None)
               for line in lines])


class YieldingDemo(DemoConnector):
    """The demo ERP, handing control to the loop a few times inside each stock read, so
    that concurrent orders interleave (the demo's own oversell check can be switched off,
    as Tryton confirms whatever it is sent)."""

    def __init__(self, *, refuse_oversell: bool = False) -> None:
        super().__init__()
        self.orders.refuse_oversell = refuse_oversell

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        for _ in range(5):
            await asyncio.sleep(0)
        return await super().availability(skus)


class LosesAnswers(YieldingDemo):
    """Creates the order, then fails as if the answer was lost on the way back."""

    def __init__(self, failures: int = 1) -> None:
        super().__init__(refuse_oversell=True)
        self.failures = failures

    async def create_order(self, order: NewOrder) -> Order:
        created = await super().create_order(order)
        if self.failures:
            self.failures -= 1
            raise ErpTimeout("the answer to create_order never arrived")
        return created


@contextlib.asynccontextmanager
async def order_service(tmp_path: Path, erp: ErpConnector | None = None, *,
                        reservations: Reservations | None = None,
                        store: SqliteIdempotencyStore | None = None,
                        **config: Any) -> AsyncIterator[OrderService]:
    connector = erp or YieldingDemo()
    settings = OrdersConfig(**config)
    owned = store is None
    store = store or SqliteIdempotencyStore(tmp_path / "records.sqlite3")
    cache = TieredCache(CacheConfig())
    await cache.start()
    service = OrderService(
        connector, CatalogService(connector, cache),
        OrderRecords(store, ttl_seconds=3600, lease_seconds=settings.lease_seconds),
        reservations or LocalReservations(settings.reservation_wait_seconds), settings)
    try:
        yield service
    finally:
        await service.drain()
        await cache.stop()
        if owned:
            await store.aclose()


def new_order(request: OrderRequest, warehouse: str, *, channel: str) -> NewOrder:
    """The ERP order the service would make of ``request`` (at the demo's prices)."""
    return NewOrder(
        customer=request.customer, reference=request.reference, channel=channel,
        warehouse=warehouse,
        lines=tuple(OrderLine(x.sku, x.quantity, Decimal(1)) for x in request.lines),
        ship_to=ErpAddress(SHIP_TO.name, tuple(SHIP_TO.street), SHIP_TO.city,
                           SHIP_TO.postal_code, SHIP_TO.country))


def available(erp: DemoConnector, sku: str, warehouse: str) -> Decimal:
    stock = erp.orders.availability([sku])[sku]
    return next(w.available for w in stock.warehouses if w.warehouse == warehouse)


def stocked(erp: DemoConnector, minimum: int = 3) -> tuple[str, str, Decimal]:
    """A per-unit SKU and a warehouse holding at least ``minimum`` available units."""
    for sku, stock in erp.catalog.stock.items():
        if sku in erp.catalog.units:
            continue
        for row in stock.warehouses:
            if row.available >= minimum:
                return sku, row.warehouse, row.available
    raise AssertionError("the demo catalog has no stock")
