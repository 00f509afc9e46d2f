"""Orders on a real trytond: a real ``sale.sale`` quoted and confirmed, found by the
channel's reference, read with its shipments; and the order service on top of it (one
sale for three retries, the oversold line refused, one of two orders for the last unit).

What Tryton holds is read back through proteus, not through the connector.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.erp.base import (
    Address,
    NewOrder,
    OrderLine,
    OrderNotFound,
    OrderState,
)
from gateway.erp.tryton import TrytonConnector
from gateway.orders.service import OrderService
from policies.problems import Conflict
from tests.support.orders import order_request, order_service
from tests.tryton.conftest import TrytonServer
from tests.tryton.seed import CONTRACT_CUSTOMER, LAST_UNIT_SKU, ORDER_SKU, PLAIN_CUSTOMER

pytestmark = pytest.mark.tryton

SHIP_TO = Address("A. Buyer", ("9 Elm St",), "Denver", "80202", "US")


def sales(server: TrytonServer, reference: str) -> list[Any]:
    from proteus import Model

    Sale = Model.get("sale.sale", config=server.proteus)
    return list(Sale.find([("reference", "=", reference)]))


@pytest.fixture
async def service(tmp_path: Path, tryton_server: TrytonServer
                  ) -> AsyncIterator[tuple[OrderService, TrytonConnector]]:
    erp = TrytonConnector(tryton_server.config())
    try:
        async with order_service(tmp_path, erp) as orders:
            yield orders, erp
    finally:
        await erp.aclose()


async def test_an_order_is_a_confirmed_tryton_sale_found_by_its_reference(
        connector: TrytonConnector, tryton_server: TrytonServer) -> None:
    order = NewOrder(customer=CONTRACT_CUSTOMER, reference="T-CREATE-1", channel="shop-a",
                     warehouse="WH", ship_to=SHIP_TO,
                     lines=(OrderLine(ORDER_SKU, Decimal(2), Decimal("8.0000")),))
    created = await connector.create_order(order)
    found = await connector.find_order(CONTRACT_CUSTOMER, "T-CREATE-1")
    fetched = await connector.get_order(created.id)

    sale, = sales(tryton_server, "T-CREATE-1")
    assert sale.state in ("confirmed", "processing")
    assert sale.number == created.id
    assert [(line.product.code, line.quantity, line.unit_price) for line in sale.lines] == [
        (ORDER_SKU, 2.0, Decimal("8.0000"))]
    assert sale.shipment_address.postal_code == "80202"
    assert found == fetched
    assert fetched.channel == "shop-a" and fetched.warehouse == "WH"
    assert fetched.state in (OrderState.CONFIRMED, OrderState.PROCESSING)
    assert [s.id for s in fetched.shipments] == [s.number for s in sale.shipments]
    assert await connector.find_order(CONTRACT_CUSTOMER, "T-NOWHERE") is None
    with pytest.raises(OrderNotFound):
        await connector.get_order("NO-SUCH-SALE")


async def test_three_retries_of_one_request_make_one_tryton_sale(
        service: tuple[OrderService, TrytonConnector], tryton_server: TrytonServer) -> None:
    orders, _ = service
    request = order_request((ORDER_SKU, "1"), customer=PLAIN_CUSTOMER, reference="T-RETRY",
                            warehouse="WH")
    placed = [await orders.place("shop-a", "retry-key", request) for _ in range(3)]

    assert len(sales(tryton_server, "T-RETRY")) == 1
    assert len({p.order.id for p in placed}) == 1
    assert [p.replayed for p in placed] == [False, True, True]
    # the line carries the price Tryton quotes the customer (its default list: 10 * 0.95)
    assert placed[0].order.lines[0].unit_price == Decimal("9.5000")


async def test_the_oversold_line_is_refused_with_what_tryton_has(
        service: tuple[OrderService, TrytonConnector], tryton_server: TrytonServer) -> None:
    orders, erp = service
    have = {w.warehouse: w.available
            for w in (await erp.availability([ORDER_SKU]))[ORDER_SKU].warehouses}["WH"]
    request = order_request((LAST_UNIT_SKU, "1"), (ORDER_SKU, str(have + 1)),
                            customer=PLAIN_CUSTOMER, reference="T-OVERSOLD", warehouse="WH")
    with pytest.raises(Conflict) as refused:
        await orders.place("shop-a", "oversold-key", request)

    lines = refused.value.extensions["lines"]
    assert [(x["line"], x["sku"], Decimal(x["available"])) for x in lines] == [
        (1, ORDER_SKU, have)]
    assert sales(tryton_server, "T-OVERSOLD") == []


async def test_one_of_two_concurrent_orders_for_the_last_unit_is_refused(
        service: tuple[OrderService, TrytonConnector], tryton_server: TrytonServer) -> None:
    orders, erp = service
    before = (await erp.availability([LAST_UNIT_SKU]))[LAST_UNIT_SKU].total_available
    assert before == 1
    outcomes = await asyncio.gather(*(
        orders.place(f"shop-{x}", f"last-{x}", order_request(
            (LAST_UNIT_SKU, "1"), customer=CONTRACT_CUSTOMER, reference=f"T-LAST-{x}",
            warehouse="any"))
        for x in "ab"), return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1, outcomes
    assert refused[0].extensions["lines"][0]["available"] == "0"
    assert len(sales(tryton_server, "T-LAST-a")) + len(sales(tryton_server, "T-LAST-b")) == 1
    after = (await erp.availability([LAST_UNIT_SKU]))[LAST_UNIT_SKU].total_available
    assert after == 0


async def test_cancel_where_tryton_allows_it(
        connector: TrytonConnector, tryton_server: TrytonServer) -> None:
    order = NewOrder(customer=CONTRACT_CUSTOMER, reference="T-CANCEL", channel="shop-a",
                     warehouse="WH", ship_to=SHIP_TO,
                     lines=(OrderLine(ORDER_SKU, Decimal(1), Decimal("8.0000")),))
    created = await connector.create_order(order)

    if created.state is OrderState.CONFIRMED:
        cancelled = await connector.cancel_order(created.id)
        assert cancelled.state is OrderState.CANCELLED
        assert sales(tryton_server, "T-CANCEL")[0].state == "cancelled"
    else:  # processed at once: its shipment exists, Tryton's sale workflow refuses
        from gateway.erp.base import OrderRefused

        with pytest.raises(OrderRefused, match="processing"):
            await connector.cancel_order(created.id)
