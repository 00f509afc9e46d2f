"""Drills: Redis killed under load, and Redis cut off from one replica, on three gateways.

Real processes: one redis-server, the demo ERP, three ``erp-gateway serve`` processes
(``ratelimit.replicas = 3``, 30/minute on the prices group, so each process's share
without Redis is 10). Counts are asserted; the recovery times are printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.drills.common import (
    ADMIN,
    LIMIT,
    REPLICAS,
    Load,
    admitted,
    ready,
    until,
    write_config,
)
from tests.support import fleet
from tests.support.redis_server import RedisServer, start_redis
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.drill, pytest.mark.redis]

SKUS = [f"SKU-{i:04d}" for i in range(1, 21)]
CACHED = [f"/v1/inventory/{sku}" for sku in SKUS]
SHARE = LIMIT // REPLICAS


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def erp() -> Iterator[fleet.Proc]:
    proc = fleet.demo_erp()
    try:
        yield proc
    finally:
        proc.stop()


async def warm(client: httpx.AsyncClient, bases: list[str]) -> None:
    for base in bases:
        for path in CACHED:
            response = await client.get(base + path, headers={"X-API-Key":
                                                              "demo-storefront-key"})
            assert response.status_code == 200, response.text


async def test_redis_killed_under_load(redis, erp, tmp_path: Path):
    config = write_config(tmp_path / "drill.toml", erp=erp.base, redis_port=redis.port)
    with fleet.running(*[fleet.gateway(config) for _ in range(3)]) as procs:
        bases = [p.base for p in procs]
        async with httpx.AsyncClient(timeout=10) as client:
            await warm(client, bases)
            # step 1, Redis up: one shared limit, whichever replica is asked (admin's window)
            shared = sum([await admitted(client, bases[i % 3], "/v1/prices/SKU-0001"
                                         "?customer=CUST-001", 1, ADMIN)
                          for i in range(2 * LIMIT)])
            load = Load(bases, CACHED)
            load.start(client)
            # step 2, Redis killed under load: cached reads keep answering, limits fall to shares
            redis.stop()
            # (the storefront's window: counted locally only while Redis is away)
            shares = [await admitted(client, base, "/v1/prices/SKU-0002?customer=CUST-002",
                                     LIMIT) for base in bases]
            # step 3, Redis back: every process returns to it before the next step
            redis.restart()
            # measured from the restart, all three at once
            back = await asyncio.gather(*(until(lambda b=base: ready(client, b),
                                                f"{base} back on Redis") for base in bases))
            await load.stop()
            # the storefront's shared window never saw the degraded admissions: a full limit
            after = sum([await admitted(client, bases[i % 3], "/v1/prices/SKU-0003"
                                        "?customer=CUST-003", 1) for i in range(2 * LIMIT)])
    print(f"\nRedis killed under load: {sum(load.statuses.values())} cached reads, "
          f"{load.server_errors} 5xx, {load.errors} transport errors; admitted with Redis "
          f"{shared}/{2 * LIMIT}, without Redis per process {shares}; back on Redis after "
          + ", ".join(f"{t:.2f} s" for t in back))
    assert shared == LIMIT
    assert load.server_errors == 0 and load.errors == 0
    assert load.statuses[200] > 0
    # each process enforces its share; one unit more where a request was granted by Redis in
    # the moment it went away (a lease unit) or the local window crossed a minute boundary
    # (the sliding-window approximation), as the README documents
    assert all(SHARE <= s <= SHARE + 1 for s in shares), shares
    assert len(back) == 3  # all three returned before this step ended
    assert after == LIMIT  # and count on the shared window again


async def test_redis_partitioned_from_one_replica(redis, erp, tmp_path: Path):
    proxy = await TcpProxy(redis.port).start()
    try:
        cut_off = write_config(tmp_path / "a.toml", erp=erp.base, redis_port=proxy.port)
        direct = write_config(tmp_path / "bc.toml", erp=erp.base, redis_port=redis.port)
        with fleet.running(fleet.gateway(cut_off)) as (a,), \
                fleet.running(fleet.gateway(direct), fleet.gateway(direct)) as (b, c):
            procs = [a, b, c]
            bases = [p.base for p in procs]
            async with httpx.AsyncClient(timeout=10) as client:
                await warm(client, bases)
                load = Load(bases, CACHED)
                load.start(client)
                proxy.partition()
                path = "/v1/prices/SKU-0004?customer=CUST-004"
                # the cut-off replica first: it notices and falls back to its share
                isolated = await admitted(client, bases[0], path, LIMIT)
                others = [await admitted(client, base, path, LIMIT) for base in bases[1:]]
                states = [(await client.get(b + "/readyz")).json()["status"] for b in bases]
                proxy.heal()
                back = await until(lambda: ready(client, bases[0]), "replica a back on Redis")
                await load.stop()
    finally:
        await proxy.stop()
    print(f"\nRedis cut from one replica: cut-off replica admitted {isolated}/{LIMIT} "
          f"(share {SHARE}), the other two {others} of one shared {LIMIT}; readiness "
          f"{states}; {load.server_errors} 5xx over {sum(load.statuses.values())} cached "
          f"reads; replica a back on Redis {back:.2f} s after the heal")
    assert isolated <= SHARE
    assert sum(others) == LIMIT  # the two connected replicas stay exact between them
    assert isolated + sum(others) <= LIMIT + SHARE  # at most one share beyond the limit
    assert states == ["degraded", "ready", "ready"]
    assert load.server_errors == 0 and load.errors == 0
