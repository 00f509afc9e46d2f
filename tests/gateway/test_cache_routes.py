"""The cache as storefronts see it: headers, isolation, stale rules, eviction."""

import asyncio
import json
import time

import pytest

from caching import CacheConfig, FreshnessPolicy
from gateway.erp.demo import DemoConnector
from gateway.erp.demo.catalog import catalog
from gateway.settings import Settings
from policies.webhook_signature import sign, sign_frappe
from tests.support.app import ADMIN, STOREFRONT, gateway


def settings(**policies: FreshnessPolicy) -> Settings:
    base = Settings.embedded_demo()
    return base.model_copy(update={"cache": CacheConfig(policies=policies)})


async def test_second_read_is_a_cache_hit_with_cache_status_and_age():
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        first = await client.get("/v1/inventory/SKU-0005", headers=STOREFRONT)
        second = await client.get("/v1/inventory/SKU-0005", headers=STOREFRONT)
    assert first.headers["cache-status"].startswith("erp-gateway; fwd=uri-miss; stored")
    assert second.headers["cache-status"].startswith("erp-gateway; hit")
    assert second.headers["age"].isdigit()
    assert first.json() == second.json()
    assert erp.calls["availability"] == 1


async def test_one_customer_never_receives_another_customers_contract_price():
    data = catalog()
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        for _ in range(2):  # the second round is served from cache
            contract = await client.get("/v1/prices/SKU-0001", headers=STOREFRONT,
                                        params={"customer": "CUST-001"})
            other = await client.get("/v1/prices/SKU-0001", headers=STOREFRONT,
                                     params={"customer": "CUST-002"})
            assert contract.json()["unit_price"] == float(
                data.customers["CUST-001"].contracts["SKU-0001"])
            assert other.json()["price_list"] == "WHOLESALE"
            assert other.json()["unit_price"] != contract.json()["unit_price"]
        assert contract.headers["cache-status"].startswith("erp-gateway; hit")
    assert erp.calls["prices"] == 2


async def test_a_batch_query_fetches_only_the_misses_in_one_call():
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        await client.post("/v1/inventory/query", headers=STOREFRONT,
                          json={"skus": ["SKU-0001", "SKU-0002"]})
        response = await client.post("/v1/inventory/query", headers=STOREFRONT,
                                     json={"skus": [f"SKU-{i:04d}" for i in range(1, 101)]})
    assert len(response.json()["items"]) == 100
    assert erp.calls["availability"] == 2


async def test_concurrent_misses_make_one_erp_call():
    erp = DemoConnector()
    erp.config = erp.config.model_copy(update={"latency_ms": 20})
    async with gateway(erp=erp) as (_, client):
        responses = await asyncio.gather(*[
            client.get("/v1/inventory/SKU-0042", headers=STOREFRONT) for _ in range(100)])
    assert {r.status_code for r in responses} == {200}
    assert erp.calls["availability"] == 1


async def test_erp_down_serves_stale_within_stale_if_error_and_503_beyond():
    erp = DemoConnector()
    served_stale = settings(inventory=FreshnessPolicy(
        fresh_ttl=0, stale_while_revalidate=0, stale_if_error=3600))
    async with gateway(served_stale, erp=erp) as (_, client):
        warm = await client.get("/v1/inventory/SKU-0003", headers=STOREFRONT)
        erp.down = True
        stale = await client.get("/v1/inventory/SKU-0003", headers=STOREFRONT)
        ready = await client.get("/readyz")
    assert stale.status_code == 200
    assert stale.json() == warm.json()
    assert "detail=stale-if-error" in stale.headers["cache-status"]
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"

    # a microsecond of stale-if-error: gone by the time the next request is served
    no_stale = settings(inventory=FreshnessPolicy(
        fresh_ttl=0, stale_while_revalidate=0, stale_if_error=1e-6))
    erp = DemoConnector()
    async with gateway(no_stale, erp=erp) as (_, client):
        await client.get("/v1/inventory/SKU-0003", headers=STOREFRONT)
        erp.down = True
        failed = await client.get("/v1/inventory/SKU-0003", headers=STOREFRONT)
    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "5"
    assert failed.headers["content-type"] == "application/problem+json"


def _signed(body: dict, secret=b"demo-webhook-secret", at=None):
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json",
               **sign(raw, secret, int(at if at is not None else time.time()))}
    return raw, headers


async def test_a_signed_change_notice_evicts_and_the_next_read_refetches():
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        await client.get("/v1/inventory/SKU-0007", headers=STOREFRONT)
        raw, headers = _signed({"skus": ["SKU-0007"]})
        notice = await client.post("/webhooks/erp/demo", content=raw, headers=headers)
        after = await client.get("/v1/inventory/SKU-0007", headers=STOREFRONT)
    assert notice.status_code == 200, notice.text
    assert notice.json()["evicted_locally"] == 1
    assert after.headers["cache-status"].startswith("erp-gateway; fwd=uri-miss")
    assert erp.calls["availability"] == 2


@pytest.mark.parametrize(("secret", "age", "reason"), [
    (b"forged-secret", 0, "bad-signature"),
    (b"demo-webhook-secret", 301, "timestamp"),
])
async def test_forged_or_replayed_notices_are_refused(secret, age, reason):
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        await client.get("/v1/inventory/SKU-0008", headers=STOREFRONT)
        raw, headers = _signed({"skus": ["SKU-0008"]}, secret, time.time() - age)
        refused = await client.post("/webhooks/erp/demo", content=raw, headers=headers)
        after = await client.get("/v1/inventory/SKU-0008", headers=STOREFRONT)
    assert refused.status_code == 401
    assert reason in refused.json()["detail"]
    assert after.headers["cache-status"].startswith("erp-gateway; hit")


async def test_frappe_signed_documents_are_accepted_where_the_source_allows_it():
    from gateway.settings import WebhookSource

    base = Settings.embedded_demo()
    frappe = base.model_copy(update={"webhooks": {"erpnext": WebhookSource(
        secrets=["erpnext-secret"], accept_frappe=True)}})
    erp = DemoConnector()
    async with gateway(frappe, erp=erp) as (_, client):
        await client.get("/v1/inventory/SKU-0009", headers=STOREFRONT)
        raw = json.dumps({"doctype": "Bin", "item_code": "SKU-0009", "warehouse": "X"}).encode()
        response = await client.post("/webhooks/erp/erpnext", content=raw,
                                     headers=sign_frappe(raw, b"erpnext-secret"))
    assert response.status_code == 200, response.text
    assert response.json()["evicted_locally"] == 1


async def test_admin_purge_by_customer_and_everything():
    erp = DemoConnector()
    async with gateway(erp=erp) as (_, client):
        await client.get("/v1/prices/SKU-0001", params={"customer": "CUST-001"},
                         headers=STOREFRONT)
        await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        by_customer = await client.post("/admin/cache/purge", json={"customers": ["CUST-001"]},
                                        headers=ADMIN)
        everything = await client.post("/admin/cache/purge", json={"all": True}, headers=ADMIN)
        empty = await client.post("/admin/cache/purge", json={}, headers=ADMIN)
        refused = await client.post("/admin/cache/purge", json={"all": True},
                                    headers=STOREFRONT)
    assert by_customer.json()["evicted_locally"] == 1
    assert everything.json()["evicted_locally"] == 1
    assert empty.status_code == 422
    assert refused.status_code == 403
