from tests.support.app import ADMIN, STOREFRONT, gateway


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
    assert 'gateway_requests_total{operation="getInventoryV1",status="200"} 3' in text
    assert 'gateway_requests_total{operation="getInventoryV1",status="404"} 1' in text
    # the cache answered the repeats: one ERP call per key
    assert "gateway_erp_calls_availability 2" in text
    assert "gateway_cache_hits 2" in text
