"""Replicas sharing one real Redis: one ERP call per key, eviction everywhere, Redis loss."""

import asyncio
import contextlib
import json
import time

import pytest

from gateway.erp.demo import DemoConnector
from gateway.settings import RedisSettings, Settings
from policies.webhook_signature import sign
from tests.support.app import STOREFRONT, gateway

pytestmark = pytest.mark.redis


def replica_settings(url: str) -> Settings:
    # both replicas share this test's one event loop, so a busy loop delays every Redis
    # reply; timeouts that leave room for that keep these tests about coalescing and
    # eviction (Redis going away has its own tests below)
    demo = Settings.embedded_demo()
    return demo.model_copy(update={
        "redis": RedisSettings(url=url, socket_timeout=2.0, connect_timeout=2.0),
        "cache": demo.cache.model_copy(update={"redis_socket_timeout": 2.0}),
    })


@contextlib.asynccontextmanager
async def two_replicas(url: str):
    erp = DemoConnector()
    erp.config = erp.config.model_copy(update={"latency_ms": 30})
    async with gateway(replica_settings(url), erp=erp) as (app_a, a), \
            gateway(replica_settings(url), erp=erp) as (app_b, b):
        yield erp, a, b


async def test_two_replicas_on_one_redis_make_one_erp_call_per_key(redis_url):
    async with two_replicas(redis_url) as (erp, a, b):
        responses = await asyncio.gather(*[
            (a if i % 2 else b).get("/v1/inventory/SKU-0100", headers=STOREFRONT)
            for i in range(60)])
    assert {r.status_code for r in responses} == {200}
    assert erp.calls["availability"] == 1


async def test_a_change_notice_reaches_the_other_replicas_l1(redis_url):
    async with two_replicas(redis_url) as (erp, a, b):
        await a.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
        warm_b = await b.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
        assert warm_b.headers["cache-status"].startswith("erp-gateway; hit")
        raw = json.dumps({"skus": ["SKU-0101"]}).encode()
        await a.post("/webhooks/erp/demo", content=raw, headers={
            "Content-Type": "application/json",
            **sign(raw, b"demo-webhook-secret", int(time.time()))})
        # replica b hears it over pub/sub; bounded wait, no fixed sleep
        for _ in range(100):
            after = await b.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
            if not after.headers["cache-status"].startswith("erp-gateway; hit"):
                break
            await asyncio.sleep(0.01)
    assert after.headers["cache-status"].startswith("erp-gateway; fwd=")
    assert erp.calls["availability"] == 2


async def test_redis_killed_mid_traffic_fails_no_request(redis_server, redis_url):
    erp = DemoConnector()
    async with gateway(replica_settings(redis_url), erp=erp) as (_, client):
        statuses = []
        for i in range(40):
            if i == 20:
                redis_server.stop()
            response = await client.get(f"/v1/inventory/SKU-{i % 5 + 1:04d}",
                                        headers=STOREFRONT)
            statuses.append(response.status_code)
        ready = await client.get("/readyz")
    redis_server.restart()
    assert statuses == [200] * 40
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["status"] == "down"
