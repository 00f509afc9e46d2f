"""The gateway on a real Sentinel group: primary, replica, three sentinels; a failover included."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from limits import parse

from gateway.erp.demo import DemoConnector
from policies.ratelimit import limit_key
from tests.support.app import STOREFRONT, WAREHOUSE, gateway
from tests.support.redis_topologies import SentinelGroup, command, sentinel_running
from tests.topologies.common import (
    back_on_redis,
    eventually,
    label_request,
    sentinel_redis,
    settings_on,
)

pytestmark = [
    pytest.mark.redis_sentinel,
    # these tests kill Redis nodes under open connections: redis-py's client may leave a
    # connection to a dead node to the garbage collector, which then warns once (unclosed
    # Connection); that says nothing about the gateway and must not fail the run
    pytest.mark.filterwarnings("ignore:unclosed Connection:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def group() -> Iterator[SentinelGroup]:
    with sentinel_running() as running:
        yield running


async def test_cache_limits_and_labels_work_through_sentinel(group, tmp_path):
    command(group.current_primary_port(), "FLUSHALL")
    erp = DemoConnector()
    # not about Redis going away: room for a busy machine (WAIT stays under half of it)
    settings = settings_on(sentinel_redis(group, replica_acks=1, socket_timeout=2.0,
                                          connect_timeout=2.0), tmp_path / "labels.sqlite3")
    item = parse("5/minute")
    async with gateway(settings, erp=erp) as (app, client):
        svc = app.state.services
        reads = await asyncio.gather(*[client.get("/v1/inventory/SKU-0042", headers=STOREFRONT)
                                       for _ in range(20)])
        admitted = [(await svc.limiter.acquire(limit_key(item, "acme", "prices", "GET"),
                                               item)).allowed for _ in range(8)]
        headers = {**WAREHOUSE, "Idempotency-Key": "po-77/parcel-1"}
        first = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        again = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        bought = svc.shipping.registry.get("sandbox-main").inner.purchase_count
    assert {r.status_code for r in reads} == {200}
    assert erp.calls["availability"] == 1
    assert admitted == [True] * 5 + [False] * 3
    assert first.status_code == again.status_code == 201, first.text
    assert bought == 1
    # written on the primary and, through WAIT 1, already on the replica
    replica = aioredis.Redis(port=group.replica.port)
    try:
        assert len(await replica.keys("idem:*")) == 1
        assert len(await replica.keys("label:*")) == 1
    finally:
        await replica.aclose()


async def test_a_sentinel_failover_keeps_answering_and_loses_no_acknowledged_label(tmp_path):
    with sentinel_running() as group:
        erp = DemoConnector()
        settings = settings_on(sentinel_redis(group, replica_acks=1),
                               tmp_path / "labels.sqlite3")
        item = parse("12000/minute")
        async with gateway(settings, erp=erp) as (app, client):
            svc = app.state.services
            skus = [f"SKU-{i:04d}" for i in range(1, 21)]
            for sku in skus:
                assert (await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)).is_success
            bought = []
            for n in range(8):
                headers = {**WAREHOUSE, "Idempotency-Key": f"sentinel-{n}"}
                bought.append(await client.post("/v1/shipping/labels", json=label_request(),
                                                headers=headers))
            assert {r.status_code for r in bought} == {201}
            old = group.kill_primary()
            statuses, cached, saw_degraded = [], [], 0
            for i in range(120):
                sku = skus[i % len(skus)] if i % 2 == 0 else f"SKU-{300 + i:04d}"
                response = await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)
                statuses.append(response.status_code)
                if i % 2 == 0:
                    cached.append(response.headers["cache-status"].split(";")[1].strip())
                saw_degraded += svc.cache.degraded or svc.limiter.degraded
            new_port = group.wait_promoted(old.port)
            attempts = await eventually(lambda: back_on_redis(client, svc, item),
                                        "gateway back on the promoted replica")
            print(f"sentinel failover: primary {old.port} -> {new_port}; {saw_degraded} "
                  f"degraded answers; back on Redis after {attempts} polls of 50 ms")
            replays = []
            for n in range(8):
                headers = {**WAREHOUSE, "Idempotency-Key": f"sentinel-{n}"}
                replays.append(await client.post("/v1/shipping/labels", json=label_request(),
                                                 headers=headers))
            purchases = svc.shipping.registry.get("sandbox-main").inner.purchase_count
    assert new_port == group.replica.port
    assert statuses == [200] * 120
    assert set(cached) == {"hit"}
    assert saw_degraded > 0
    assert [r.json()["id"] for r in replays] == [r.json()["id"] for r in bought]
    assert purchases == 8  # every acknowledged record was on the promoted replica
