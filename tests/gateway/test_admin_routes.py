from tests.support.app import ADMIN, STOREFRONT, gateway
from tests.support.metrics import value


async def test_carrier_status_lists_every_account_breaker():
    async with gateway() as (_, client):
        response = await client.get("/admin/carriers", headers=ADMIN)
        refused = await client.get("/admin/carriers", headers=STOREFRONT)
    assert response.status_code == 200
    accounts = response.json()["accounts"]
    assert {a["account"] for a in accounts} == {"sandbox-main", "sandbox-backup"}
    assert all(a["state"] == "closed" for a in accounts)
    assert refused.status_code == 403


async def test_metrics_count_requests_by_operation_and_status():
    async with gateway() as (_, client):
        for _ in range(3):
            await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        await client.get("/v1/inventory/NOPE", headers=STOREFRONT)
        text = (await client.get("/metrics", headers=ADMIN)).text
    requests = "gateway_requests_total"
    assert value(text, requests, operation="getInventoryV1", status="200", method="GET",
                 client="demo-storefront") == 3
    assert value(text, requests, operation="getInventoryV1", status="404") == 1
    # the cache answered the repeats: one ERP call per key
    assert value(text, "gateway_erp_calls_total", connector="demo", call="availability",
                 outcome="ok") == 2
    assert value(text, "gateway_cache_lookups_total", data_class="inventory",
                 result="hit") == 2
    assert value(text, "gateway_cache_lookups_total", data_class="inventory",
                 result="miss") == 2  # SKU-0001 once, NOPE once
