"""The gateway's HTTP answers, served from a real trytond, equal what Tryton computes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.support.app import STOREFRONT, gateway
from tests.tryton.conftest import TrytonServer
from tests.tryton.seed import CONTRACT_CUSTOMER, PLAIN_CUSTOMER, SKUS, WAREHOUSES
from tests.tryton.test_tryton_connector import (
    _draft_sale_line_price,
    _expected_stock,
    _list_price,
)

pytestmark = pytest.mark.tryton


def _settings(server: TrytonServer) -> Settings:
    return Settings(demo=True, erp=server.config())


async def test_v2_inventory_equals_tryton_per_warehouse(tryton_server: TrytonServer) -> None:
    async with gateway(_settings(tryton_server)) as (_, client):
        response = await client.post("/v2/inventory/query", headers=STOREFRONT,
                                     json={"skus": [*SKUS, "NOT-IN-TRYTON"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["not_found"] == ["NOT-IN-TRYTON"]
    assert [item["sku"] for item in body["items"]] == list(SKUS)
    for item in body["items"]:
        rows = {w["warehouse"]: w for w in item["warehouses"]}
        assert set(rows) == set(WAREHOUSES)
        for warehouse in WAREHOUSES:
            on_hand, available = _expected_stock(tryton_server, item["sku"], warehouse)
            assert Decimal(rows[warehouse]["on_hand"]) == on_hand
            assert Decimal(rows[warehouse]["available_to_promise"]) == available


async def test_contract_price_through_the_gateway_is_trytons_and_differs_from_list(
        tryton_server: TrytonServer) -> None:
    async with gateway(_settings(tryton_server)) as (_, client):
        contract = await client.get("/v2/prices/SKU-001", headers=STOREFRONT,
                                    params={"customer": CONTRACT_CUSTOMER, "quantity": "10"})
        plain = await client.get("/v2/prices/SKU-001", headers=STOREFRONT,
                                 params={"customer": PLAIN_CUSTOMER, "quantity": "10"})
        unknown = await client.get("/v2/prices/SKU-001", headers=STOREFRONT,
                                   params={"customer": "C-NOBODY"})
    assert contract.status_code == plain.status_code == 200
    contract_price = Decimal(contract.json()["unit_price"]["amount"])
    assert contract_price == _draft_sale_line_price(tryton_server, CONTRACT_CUSTOMER,
                                                    "SKU-001", 10)
    assert contract_price != _list_price(tryton_server, "SKU-001")
    assert Decimal(plain.json()["unit_price"]["amount"]) == _draft_sale_line_price(
        tryton_server, PLAIN_CUSTOMER, "SKU-001", 10)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_an_order_through_the_gateway_is_a_tryton_sale_at_trytons_price(
        tryton_server: TrytonServer, tmp_path: Path) -> None:
    from proteus import Model

    from gateway.demo import demo_shipping
    from tests.tryton.seed import ORDER_SKU

    # order records of this database only (the demo's label file outlives a test run)
    settings = _settings(tryton_server).model_copy(
        update={"shipping": demo_shipping(tmp_path / "records.sqlite3")})
    body = {"customer": PLAIN_CUSTOMER, "reference": "T-HTTP-1", "warehouse": "WH",
            "ship_to": {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver",
                        "postal_code": "80202", "country": "US"},
            "lines": [{"sku": ORDER_SKU, "quantity": "3", "unit_price": "9.50", "unit": "u"}]}
    headers = {**STOREFRONT, "Idempotency-Key": "t-http-1"}
    async with gateway(settings) as (_, client):
        placed = await client.post("/v2/orders", headers=headers, json=body)
        assert placed.status_code == 201, placed.text
        again = await client.post("/v2/orders", headers=headers, json=body)
        read = await client.get(placed.headers["location"], headers=STOREFRONT)
        stock = await client.get(f"/v2/inventory/{ORDER_SKU}", headers=STOREFRONT)

    assert again.json() == placed.json() and again.headers["idempotent-replayed"] == "true"
    assert read.json()["id"] == placed.json()["id"]
    Sale = Model.get("sale.sale", config=tryton_server.proteus)
    sale, = Sale.find([("reference", "=", "T-HTTP-1")])
    assert sale.number == placed.json()["id"]
    assert [(line.quantity, line.unit_price) for line in sale.lines] == [(3.0, Decimal("9.5"))]
    assert stock.status_code == 200
