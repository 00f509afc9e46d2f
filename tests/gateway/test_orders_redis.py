"""Two replicas sharing Redis: their stock holds exclude each other, so the last unit is
sold once; a dead holder's hold expires; Redis down refuses orders rather than risk it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from carriers.idempotency.redis_store import RedisIdempotencyStore
from gateway.orders.reservations import (
    RedisReservations,
    ReservationBusy,
    ReservationUnavailable,
)
from policies.problems import Conflict
from tests.support.orders import YieldingDemo, available, order_request, order_service
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis


def _holds(client: aioredis.Redis, wait: float = 5.0, ttl: float = 30.0) -> RedisReservations:
    return RedisReservations(client, prefix="t:", ttl_seconds=ttl, wait_seconds=wait)


async def test_two_replicas_sell_the_last_unit_once(tmp_path: Path, redis_url: str) -> None:
    erp = YieldingDemo(refuse_oversell=False)  # the ERP confirms whatever it gets
    sku, warehouse, have = next(
        (s, w.warehouse, w.available) for s, a in erp.catalog.stock.items()
        if s not in erp.catalog.units for w in a.warehouses if w.available >= 2)
    clients = [aioredis.from_url(redis_url) for _ in range(2)]
    store = RedisIdempotencyStore(clients[0], prefix="t:")
    try:
        async with order_service(tmp_path, erp, reservations=_holds(clients[0]),
                                 store=store) as one, \
                order_service(tmp_path, erp, reservations=_holds(clients[1]),
                              store=store) as two:
            await one.place("a", "fill", order_request((sku, str(have - 1)), reference="F",
                                                       warehouse=warehouse))
            outcomes = await asyncio.gather(
                one.place("a", "k1", order_request((sku, "1"), reference="R1",
                                                   warehouse=warehouse)),
                two.place("b", "k2", order_request((sku, "1"), reference="R2",
                                                   warehouse=warehouse)),
                return_exceptions=True)
    finally:
        for client in clients:
            await client.aclose()

    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1, outcomes
    assert refused[0].extensions["lines"][0]["available"] == "0"
    assert available(erp, sku, warehouse) == 0


async def test_a_held_key_makes_the_other_replica_wait_then_give_up(redis_url: str) -> None:
    first, second = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    try:
        async with _holds(first).hold([("SKU-1", "WH"), ("SKU-2", "WH")]):
            with pytest.raises(ReservationBusy, match="SKU-2 in WH"):
                async with _holds(second, wait=0.05).hold([("SKU-2", "WH")]):
                    pass
            # keys of other orders are free meanwhile
            async with _holds(second, wait=0).hold([("SKU-3", "WH")]):
                pass
        async with _holds(second, wait=0).hold([("SKU-2", "WH")]):
            pass  # released by the first holder
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_dead_holders_hold_expires(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        holds = _holds(client, wait=0, ttl=0.2)
        # a holder that died: its keys stay until the TTL
        await client.set(holds.key("SKU-1", "WH"), "dead-token", px=200)
        with pytest.raises(ReservationBusy):
            async with holds.hold([("SKU-1", "WH")]):
                pass
        ttl = await client.pttl(holds.key("SKU-1", "WH"))
        assert 0 < ttl <= 200
        patient = _holds(client, wait=2, ttl=0.2)
        async with patient.hold([("SKU-1", "WH")]):
            assert await client.get(holds.key("SKU-1", "WH")) != b"dead-token"
    finally:
        await client.aclose()


async def test_redis_down_refuses_to_hold(redis_server: RedisServer, redis_url: str) -> None:
    client = aioredis.from_url(redis_url, socket_connect_timeout=0.2, socket_timeout=0.2)
    try:
        redis_server.stop()
        with pytest.raises(ReservationUnavailable):
            async with _holds(client).hold([("SKU-1", "WH")]):
                pass
    finally:
        await client.aclose()
        redis_server.restart()
