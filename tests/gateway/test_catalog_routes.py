from decimal import Decimal

import pytest

from gateway.erp.demo import DemoConnector
from gateway.erp.demo.catalog import catalog
from tests.support.app import STOREFRONT, gateway

PROBLEM = "application/problem+json"


async def test_inventory_returns_per_warehouse_quantities_of_the_erp():
    async with gateway() as (_, client):
        response = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    assert response.status_code == 200
    body = response.json()
    expected = catalog().stock["SKU-0001"]
    assert [w["warehouse"] for w in body["warehouses"]] == [
        w.warehouse for w in expected.warehouses]
    assert [Decimal(str(w["available"])) for w in body["warehouses"]] == [
        w.available for w in expected.warehouses]
    assert Decimal(str(body["total_available"])) == expected.total_available
    assert body["as_of"].endswith("Z")


async def test_inventory_query_filters_warehouses_and_lists_unknown_skus():
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", headers=STOREFRONT, json={
            "skus": ["SKU-0001", "SKU-0002", "SKU-0001", "NOPE-1"], "warehouses": ["WH-WEST"]})
    assert response.status_code == 200
    body = response.json()
    assert [i["sku"] for i in body["items"]] == ["SKU-0001", "SKU-0002"]
    assert all([w["warehouse"] for w in i["warehouses"]] == ["WH-WEST"] for i in body["items"])
    west = catalog().stock["SKU-0002"].warehouses[2]
    assert Decimal(str(body["items"][1]["total_available"])) == west.available
    assert body["not_found"] == ["NOPE-1"]


async def test_inventory_query_makes_one_erp_call_for_all_skus():
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        skus = [f"SKU-{i:04d}" for i in range(1, 101)]
        response = await client.post("/v1/inventory/query", headers=STOREFRONT,
                                     json={"skus": skus})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 100
    assert erp.calls["availability"] == 1


async def test_contract_price_differs_from_list_price_and_matches_the_erp():
    data = catalog()
    async with gateway() as (_, client):
        contract = await client.get("/v1/prices/SKU-0001",
                                    params={"customer": "CUST-001", "quantity": "2"},
                                    headers=STOREFRONT)
        plain = await client.get("/v1/prices/SKU-0001",
                                 params={"customer": "CUST-003", "quantity": "2"},
                                 headers=STOREFRONT)
    assert contract.status_code == plain.status_code == 200
    list_price = data.list_prices["SKU-0001"]
    expected = data.customers["CUST-001"].contracts["SKU-0001"]
    assert Decimal(str(contract.json()["unit_price"])) == expected != list_price
    assert contract.json()["price_list"] == "CONTRACT-CUST-001"
    assert plain.json()["price_list"] == "DISTRIBUTOR"
    assert Decimal(str(plain.json()["unit_price"])) == (list_price * Decimal("0.75")).quantize(
        Decimal("0.01"))


async def test_quantity_break_changes_the_price():
    async with gateway() as (_, client):
        one = await client.get("/v1/prices/SKU-0002", params={"customer": "CUST-002"},
                               headers=STOREFRONT)
        hundred = await client.get("/v1/prices/SKU-0002",
                                   params={"customer": "CUST-002", "quantity": "100"},
                                   headers=STOREFRONT)
    assert one.json()["price_list"] == hundred.json()["price_list"] == "WHOLESALE"
    assert hundred.json()["unit_price"] < one.json()["unit_price"]
    assert hundred.json()["quantity"] == 100


async def test_price_query_returns_each_item_and_unknown_skus():
    async with gateway() as (_, client):
        response = await client.post("/v1/prices/query", headers=STOREFRONT, json={
            "customer": "CUST-001",
            "items": [{"sku": "SKU-0001", "quantity": 1}, {"sku": "SKU-0003", "quantity": "12"},
                      {"sku": "SKU-7777"}]})
    assert response.status_code == 200
    body = response.json()
    assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("SKU-0001", 1), ("SKU-0003", 12)]
    assert body["not_found"] == ["SKU-7777"]


@pytest.mark.parametrize(("method", "url", "kwargs", "status", "needle"), [
    ("GET", "/v1/inventory/SKU-9999", {}, 404, "SKU-9999"),
    ("GET", "/v1/prices/SKU-0001?customer=CUST-999", {}, 404, "CUST-999"),
    ("GET", "/v1/prices/SKU-0001", {}, 422, "customer"),
    ("GET", "/v1/prices/SKU-0001?customer=CUST-001&quantity=-3", {}, 422, "quantity"),
    ("GET", "/v1/prices/SKU-0001?customer=CUST-001&quantity=abc", {}, 422, "quantity"),
    ("GET", "/v1/inventory/bad%0Asku", {}, 422, "sku"),
    ("GET", "/v1/inventory/SKU-0001%0A", {}, 422, "sku"),
    ("POST", "/v1/inventory/query", {"json": {"skus": [f"SKU-{i:04d}" for i in range(101)]}},
     422, "#/skus"),
    ("POST", "/v1/inventory/query", {"json": {"skus": [1]}}, 422, "#/skus/0"),
    ("POST", "/v1/inventory/query", {"json": {"skus": ["SKU-0001"], "extra": 1}}, 422, "#/extra"),
    ("POST", "/v1/inventory/query", {"content": b'{"skus": [', "headers": {
        "content-type": "application/json"}}, 400, "not valid JSON"),
    ("POST", "/v1/inventory/query", {"content": b"skus=1", "headers": {
        "content-type": "application/x-www-form-urlencoded"}}, 415, "application/json"),
    ("POST", "/v1/inventory/query", {"content": b"[" + b"1," * 200_000 + b"1]", "headers": {
        "content-type": "application/json"}}, 413, "limit"),
    ("POST", "/v1/prices/query", {"json": {"customer": "CUST-001", "items": []}}, 422, "#/items"),
    ("GET", "/v2/nothing-here", {}, 404, "/v2/nothing-here"),
    ("DELETE", "/v1/inventory/SKU-0001", {}, 405, "DELETE"),
])
async def test_bad_input_gets_problem_json_and_the_service_keeps_serving(
        method, url, kwargs, status, needle):
    async with gateway() as (_, client):
        headers = {**STOREFRONT, **kwargs.pop("headers", {})}
        response = await client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["status"] == status
        assert needle in problem["detail"] or any(
            needle in (e.get("pointer", "") + e.get("parameter", "")) for e in problem.get(
                "errors", []))
        assert "Traceback" not in response.text
        after = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        assert after.status_code == 200
