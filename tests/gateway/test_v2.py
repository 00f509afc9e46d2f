from decimal import Decimal

from gateway.erp.demo.catalog import catalog
from gateway.schemas.v2 import InventoryListV2, InventoryV2, PriceV2
from tests.support.app import STOREFRONT, gateway


async def test_v2_inventory_has_available_to_promise_and_next_receipt_per_warehouse():
    data = catalog()
    # a SKU whose first warehouse expects a receipt
    sku = next(s for s, a in data.stock.items() if a.warehouses[0].next_receipt_date)
    async with gateway() as (_, client):
        response = await client.get(f"/v2/inventory/{sku}", headers=STOREFRONT)
    assert response.status_code == 200
    body = InventoryV2.model_validate(response.json())
    first, expected = body.warehouses[0], data.stock[sku].warehouses[0]
    assert Decimal(first.on_hand) == expected.on_hand
    assert Decimal(first.available_to_promise) == expected.available
    assert first.next_receipt is not None
    assert first.next_receipt.date == expected.next_receipt_date
    assert Decimal(body.available_to_promise) == data.stock[sku].total_available


async def test_v2_prices_are_decimal_strings_with_a_currency_object():
    async with gateway() as (_, client):
        response = await client.get("/v2/prices/SKU-0001", params={"customer": "CUST-001"},
                                    headers=STOREFRONT)
    assert response.status_code == 200
    body = PriceV2.model_validate(response.json())
    assert isinstance(response.json()["unit_price"]["amount"], str)
    assert Decimal(body.unit_price.amount) == catalog().customers["CUST-001"].contracts["SKU-0001"]
    assert body.unit_price.currency.code == "USD"
    assert Decimal(body.list_price.amount) == catalog().list_prices["SKU-0001"]


async def test_v2_inventory_query_validates_against_its_model():
    async with gateway() as (_, client):
        response = await client.post("/v2/inventory/query", headers=STOREFRONT,
                                     json={"skus": ["SKU-0004", "ZZZ"]})
    body = InventoryListV2.model_validate(response.json())
    assert [i.sku for i in body.items] == ["SKU-0004"] and body.not_found == ["ZZZ"]
