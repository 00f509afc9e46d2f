"""The order operations over HTTP on the embedded demo, and what prices now state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from gateway.erp.demo import DemoConnector
from gateway.erp.demo.catalog import EUR_PER_USD, catalog
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway

PROBLEM = "application/problem+json"
SHIP_TO = {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver",
           "postal_code": "80202", "country": "US"}


def _stocked(minimum: int = 3) -> tuple[str, str, Decimal]:
    data = catalog()
    for sku, stock in data.stock.items():
        if sku in data.units:
            continue
        for row in stock.warehouses:
            if row.available >= minimum:
                return sku, row.warehouse, row.available
    raise AssertionError("no stock in the demo")


def _order(sku: str, quantity: str, warehouse: str, reference: str = "WEB-1",
           **line: Any) -> dict[str, Any]:
    return {"customer": "CUST-002", "reference": reference, "warehouse": warehouse,
            "ship_to": SHIP_TO, "lines": [{"sku": sku, "quantity": quantity, **line}]}


def _key(key: str, auth: dict[str, str] = STOREFRONT) -> dict[str, str]:
    return {**auth, "Idempotency-Key": key}


async def _available(client: httpx.AsyncClient, sku: str, warehouse: str) -> Decimal:
    response = await client.get(f"/v2/inventory/{sku}", headers=STOREFRONT)
    rows = {w["warehouse"]: w for w in response.json()["warehouses"]}
    return Decimal(rows[warehouse]["available_to_promise"])


async def test_an_order_is_created_once_per_key_and_read_back() -> None:
    sku, warehouse, _ = _stocked()
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        first = await client.post("/v1/orders", headers=_key("k-1"),
                                  json=_order(sku, "2", warehouse))
        again = await client.post("/v1/orders", headers=_key("k-1"),
                                  json=_order(sku, "2", warehouse))
        other = await client.post("/v1/orders", headers=_key("k-1"),
                                  json=_order(sku, "3", warehouse))
        read = await client.get(first.headers["location"], headers=STOREFRONT)
        v2 = await client.get(f"/v2/orders/{first.json()['id']}", headers=STOREFRONT)

    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() == read.json() == v2.json()
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert first.headers["location"] == f"/v1/orders/{first.json()['id']}"
    assert other.status_code == 422 and other.headers["content-type"] == PROBLEM
    body = first.json()
    assert (body["state"], body["warehouse"], body["currency"]) == (
        "confirmed", warehouse, "USD")
    assert body["lines"][0]["sku"] == sku and body["lines"][0]["quantity"] == "2"
    assert erp.calls["create_order"] == 1


async def test_orders_need_their_scope_a_key_and_belong_to_their_client() -> None:
    sku, warehouse, _ = _stocked()
    async with gateway() as (_, client):
        no_key = await client.post("/v1/orders", headers=STOREFRONT,
                                   json=_order(sku, "1", warehouse))
        no_scope = await client.post("/v1/orders", headers=_key("k", WAREHOUSE),
                                     json=_order(sku, "1", warehouse))
        placed = await client.post("/v2/orders", headers=_key("k"),
                                   json=_order(sku, "1", warehouse))
        order_id = placed.json()["id"]
        someone_else = await client.get(f"/v2/orders/{order_id}", headers=ADMIN)
        cancel_by_other = await client.post(f"/v2/orders/{order_id}/cancel", headers=ADMIN)
        unknown = await client.get("/v2/orders/SO-99999", headers=STOREFRONT)

    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["detail"]
    assert no_scope.status_code == 403
    assert placed.status_code == 201
    assert someone_else.status_code == cancel_by_other.status_code == unknown.status_code == 404


async def test_an_oversold_order_is_refused_naming_the_line_and_what_is_available() -> None:
    sku, warehouse, have = _stocked()
    async with gateway() as (_, client):
        refused = await client.post("/v1/orders", headers=_key("k"),
                                    json=_order(sku, str(have + 1), warehouse))
        after = await _available(client, sku, warehouse)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["lines"] == [{"line": 0, "pointer": "#/lines/0", "sku": sku,
                                 "requested": str(have + 1),
                                 "available": format(have.normalize(), "f"), "unit": "unit",
                                 "warehouse": warehouse}]
    assert after == have


async def test_a_price_the_erp_will_not_charge_is_refused_with_both_prices() -> None:
    sku, warehouse, _ = _stocked()
    quote = catalog().price(catalog().customers["CUST-002"], sku, Decimal(1))
    assert quote is not None
    async with gateway() as (_, client):
        refused = await client.post("/v1/orders", headers=_key("k"), json=_order(
            sku, "1", warehouse, unit_price=str(quote.unit_price + 1)))

    assert refused.status_code == 409
    assert refused.json()["lines"][0]["erp_unit_price"] == format(
        quote.unit_price.normalize(), "f")
    assert refused.json()["lines"][0]["expected_unit_price"] == format(
        (quote.unit_price + 1).normalize(), "f")


async def test_an_accepted_order_evicts_cached_availability_and_cancel_restores_it() -> None:
    sku, warehouse, have = _stocked()
    async with gateway() as (_, client):
        assert await _available(client, sku, warehouse) == have  # now cached
        placed = await client.post("/v2/orders", headers=_key("k"),
                                   json=_order(sku, "2", warehouse))
        after_order = await _available(client, sku, warehouse)
        cancelled = await client.post(f"/v2/orders/{placed.json()['id']}/cancel",
                                      headers=STOREFRONT)
        after_cancel = await _available(client, sku, warehouse)

    assert placed.status_code == 201
    assert after_order == have - 2
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert after_cancel == have


async def test_prices_state_currency_tax_treatment_and_unit() -> None:
    data = catalog()
    async with gateway() as (_, client):
        euro = await client.get("/v2/prices/SKU-0001", headers=STOREFRONT,
                                params={"customer": "CUST-004"})
        gross = await client.get("/v1/prices/SKU-0002", headers=STOREFRONT,
                                 params={"customer": "CUST-009"})
        dozen = await client.get("/v2/prices/SKU-0010", headers=STOREFRONT,
                                 params={"customer": "CUST-002"})
        stock = await client.get("/v2/inventory/SKU-0010", headers=STOREFRONT)

    assert euro.json()["unit_price"]["currency"] == {"code": "EUR"}
    assert Decimal(euro.json()["list_price"]["amount"]) == (
        data.list_prices["SKU-0001"] * EUR_PER_USD).quantize(Decimal("0.01"))
    assert (gross.json()["tax_included"], gross.json()["unit"]) == (True, "unit")
    assert Decimal(str(gross.json()["unit_price"])) == (
        data.list_prices["SKU-0002"] * Decimal("1.2")).quantize(Decimal("0.01"))
    assert dozen.json()["unit"] == "dozen" and dozen.json()["tax_included"] is False
    assert stock.json()["unit"] == "unit"


async def test_an_unknown_warehouse_in_a_filter_is_named() -> None:
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", headers=STOREFRONT, json={
            "skus": ["SKU-0001"], "warehouses": ["WH-EAST", "WH-MOON"]})

    assert response.status_code == 422
    assert "WH-MOON" in response.json()["detail"]
    assert response.json()["errors"] == [{"pointer": "#/warehouses/1",
                                          "detail": "unknown warehouse WH-MOON"}]
