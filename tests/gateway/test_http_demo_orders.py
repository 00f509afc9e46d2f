"""The demo ERP as its own process takes orders too (HTTP connector against its app)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from gateway.erp.base import (
    Address,
    NewOrder,
    OrderLine,
    OrderNotFound,
    OrderRefused,
    OrderState,
    PriceItem,
    PriceQuote,
    UnknownCustomer,
)
from gateway.erp.demo.catalog import WAREHOUSES
from gateway.erp.demo.http import HttpDemoConfig, HttpDemoConnector
from gateway.erp.demo.server import create_demo_erp_app

SHIP_TO = Address("A. Buyer", ("9 Elm St",), "Denver", "80202", "US")


def _order(sku: str, quantity: str, warehouse: str, customer: str = "CUST-004") -> NewOrder:
    return NewOrder(customer=customer, reference="WEB 7/1", channel="shop", warehouse=warehouse,
                    ship_to=SHIP_TO, lines=(OrderLine(sku, Decimal(quantity), Decimal("9.5")),))


async def test_orders_over_http_are_created_found_read_and_cancelled() -> None:
    erp = HttpDemoConnector(HttpDemoConfig(url="http://demo-erp"),
                            transport=httpx.ASGITransport(app=create_demo_erp_app()))
    try:
        stock = (await erp.availability(["SKU-0010"]))["SKU-0010"]
        row = max(stock.warehouses, key=lambda w: w.available)
        assert row.available >= 12
        created = await erp.create_order(_order("SKU-0010", "1", row.warehouse))
        found = await erp.find_order("CUST-004", "WEB 7/1")
        after = {w.warehouse: w.available
                 for w in (await erp.availability(["SKU-0010"]))["SKU-0010"].warehouses}
        price = (await erp.prices("CUST-004", []))
        cancelled = await erp.cancel_order(created.id)
        with pytest.raises(OrderRefused, match="not"):
            await erp.create_order(_order("SKU-0010", str(row.available), row.warehouse))
        with pytest.raises(OrderNotFound):
            await erp.get_order("SO-99999")
        with pytest.raises(UnknownCustomer):
            await erp.create_order(_order("SKU-0010", "1", row.warehouse, customer="CUST-999"))
        warehouses = await erp.warehouses()
        quote = (await erp.prices("CUST-004", [PriceItem("SKU-0010", Decimal(1))]))["SKU-0010"]
    finally:
        await erp.aclose()

    assert found == created
    assert created.state is OrderState.CONFIRMED and created.currency == "EUR"
    assert created.lines[0].unit == "dozen"
    assert after[row.warehouse] == row.available - 12  # one dozen
    assert price == {}
    assert cancelled.state is OrderState.CANCELLED
    assert warehouses == WAREHOUSES
    assert isinstance(quote, PriceQuote) and (quote.unit, quote.stock_units) == (
        "dozen", Decimal(12))
