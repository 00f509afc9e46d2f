"""TieredCache against a real redis-server: L2, fill locks across replicas, fan-out, outages."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from caching import CacheConfig, FreshnessPolicy, TieredCache
from caching.entry import Entry, decode
from tests.caching.conftest import CacheFactory, FakeClock, Upstream, eventually, settle
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis


class ErpDown(Exception):
    pass


async def test_second_replica_is_served_from_l2_without_fetching(make_cache: CacheFactory) -> None:
    upstream = Upstream({"A": b"a"})
    one, two = await make_cache(), await make_cache()
    await one.get("inventory", "A", upstream)
    lookup = await two.get("inventory", "A", upstream)
    again = await two.get("inventory", "A", upstream)  # now from two's own L1
    assert upstream.calls == [["A"]]
    assert (lookup.status, lookup.payload) == ("hit", b"a")
    assert again.status == "hit"


async def test_hundred_concurrent_misses_with_l2_make_one_fetch(make_cache: CacheFactory) -> None:
    upstream = Upstream({"SKU-1": b"one"})
    upstream.gate = asyncio.Event()
    cache = await make_cache()
    tasks = [asyncio.create_task(cache.get("inventory", "SKU-1", upstream)) for _ in range(100)]
    await eventually(lambda: cache.counters.coalesced_waits == 99, what="99 joined")
    upstream.gate.set()
    lookups = await asyncio.gather(*tasks)
    assert upstream.calls == [["SKU-1"]]
    assert {lk.payload for lk in lookups} == {b"one"}


async def test_concurrent_misses_on_two_replicas_make_one_fetch(make_cache: CacheFactory) -> None:
    keys = [f"SKU-{i}" for i in range(5)]
    upstream = Upstream({k: k.encode() for k in keys})
    upstream.gate = asyncio.Event()
    config = CacheConfig(fill_wait=2.0, fill_lock_ttl=3.0)
    one, two = await make_cache(config), await make_cache(config)
    tasks = [asyncio.create_task(cache.get_many("inventory", keys, upstream))
             for cache in (one, two) for _ in range(10)]
    # both replicas have a fill under way: one holds the locks and fetches, the other waits
    await eventually(lambda: one.stats()["in_flight"] == two.stats()["in_flight"] == 5)
    upstream.gate.set()
    results = await asyncio.gather(*tasks)

    assert sorted(upstream.keys_fetched) == keys  # each key went upstream exactly once
    assert len(upstream.calls) == 1  # and, the locks being taken in one pipeline, in one call
    assert all(r[k].payload == k.encode() for r in results for k in keys)
    assert one.counters.peer_fills + two.counters.peer_fills == 5
    for key in keys:  # stored once by the fetching request, every other one collapsed
        assert sum(r[key].stored for r in results) == 1
        assert sum(r[key].collapsed for r in results) == 19


async def test_peer_holding_the_lock_too_long_makes_us_fetch_ourselves(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"K": b"k"})
    cache = await make_cache(CacheConfig(fill_wait=0.2))
    await raw_redis.set("gw:v1:lock:inventory:K", "someone-else", px=5000)
    lookup = await cache.get("inventory", "K", upstream)
    assert upstream.calls == [["K"]]
    assert lookup.status == "miss"
    assert await raw_redis.get("gw:v1:lock:inventory:K") == b"someone-else"  # not ours to drop


async def test_peer_holding_the_lock_too_long_serves_stale_if_we_have_it(
    make_cache: CacheFactory, raw_redis: Redis, clock: FakeClock
) -> None:
    upstream = Upstream({"K": b"v1"})
    cache = await make_cache(CacheConfig(fill_wait=0.2), clock=clock)
    await cache.get("inventory", "K", upstream)
    clock.advance(40)  # past stale-while-revalidate: this read has to go upstream
    await raw_redis.set("gw:v1:lock:inventory:K", "someone-else", px=5000)
    lookup = await cache.get("inventory", "K", upstream)
    assert upstream.calls == [["K"]]
    assert (lookup.status, lookup.payload, lookup.detail) == ("stale", b"v1", "fill-wait")
    assert lookup.cache_status() == "erp-gateway; fwd=stale; ttl=-35; detail=fill-wait"


async def test_lock_released_without_entry_ends_the_wait_early(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"K": b"k"})
    cache = await make_cache(CacheConfig(fill_wait=5.0, fill_lock_ttl=6.0))
    await raw_redis.set("gw:v1:lock:inventory:K", "failing-peer", px=6000)
    pending = asyncio.create_task(cache.get("inventory", "K", upstream))
    await eventually(lambda: cache.stats()["in_flight"] == 1)
    await raw_redis.delete("gw:v1:lock:inventory:K")  # the peer's fetch failed
    waited = await eventually(pending.done, within=2.0, what="fetch after lock release")
    assert waited < 2.0
    assert (await pending).payload == b"k"


async def test_l2_layout_and_ttls(make_cache: CacheFactory, raw_redis: Redis) -> None:
    upstream = Upstream({"SKU-1": b'{"sku":"SKU-1"}'})
    cache = await make_cache()
    await cache.get_many("prices", ["SKU-1", "NOPE"], upstream)

    async def stored(name: str) -> Entry:
        raw = await raw_redis.get(name)
        assert isinstance(raw, bytes)
        return decode(raw)

    found = await stored("gw:v1:prices:SKU-1")
    assert (found.payload, found.tags) == (b'{"sku":"SKU-1"}', ("sku:SKU-1",))
    assert (await stored("gw:v1:prices:NOPE")).payload is None
    ttl = await raw_redis.pttl("gw:v1:prices:SKU-1")
    assert 3_600_000 < ttl <= 3_660_000  # fresh 60 + max(swr 300, sie 3600)
    assert await raw_redis.smembers("gw:v1:tag:sku:SKU-1") == {b"gw:v1:prices:SKU-1"}
    assert 3_600 < await raw_redis.ttl("gw:v1:tag:sku:SKU-1") <= 3_660
    assert await raw_redis.keys("gw:v1:lock:*") == []  # fill locks released


async def test_a_shorter_lived_entry_does_not_shorten_its_tag_index(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"SKU-1": b"x"})
    cache = await make_cache()
    await cache.get("prices", "SKU-1", upstream)  # retention 3660 s
    await cache.get("inventory", "SKU-1", upstream)  # retention 305 s, same tag
    assert await raw_redis.ttl("gw:v1:tag:sku:SKU-1") > 3_600


async def test_schema_version_bump_never_reads_old_entries(make_cache: CacheFactory) -> None:
    upstream = Upstream({"K": b"k"})
    old = await make_cache(CacheConfig(schema_version=1))
    new = await make_cache(CacheConfig(schema_version=2))
    await old.get("inventory", "K", upstream)
    lookup = await new.get("inventory", "K", upstream)
    assert lookup.status == "miss"
    assert len(upstream.calls) == 2


async def test_invalidation_by_tag_reaches_the_other_replica_within_a_second(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"A": b"a1", "B": b"b1"})
    one, two = await make_cache(), await make_cache()
    await one.get_many("inventory", ["A", "B"], upstream)
    await two.get_many("inventory", ["A", "B"], upstream)  # now in two's L1 too
    assert two.stats()["l1_entries"] == 2

    upstream.data["A"] = b"a2"
    result = await one.invalidate(["sku:A"])
    took = await eventually(lambda: two.counters.invalidations == 1, within=1.0,
                            what="invalidation on replica two")

    assert (result.l1_evicted, result.l2_ok, result.published) == (1, True, True)
    assert took < 1.0
    assert two.stats()["l1_entries"] == 1
    assert await raw_redis.exists("gw:v1:inventory:A") == 0
    assert await raw_redis.exists("gw:v1:inventory:B") == 1
    lookups = await two.get_many("inventory", ["A", "B"], upstream)
    assert (lookups["A"].status, lookups["A"].payload) == ("miss", b"a2")
    assert lookups["B"].status == "hit"
    assert one.counters.invalidations == 1  # its own echo is not applied twice


async def test_purge_all_empties_the_namespace_and_every_l1(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"A": b"a", "B": b"b"})
    one, two = await make_cache(), await make_cache()
    await one.get_many("prices", ["A", "B"], upstream)
    await two.get_many("prices", ["A", "B"], upstream)
    await raw_redis.set("gw:label:123", "not the cache's")
    await raw_redis.set("gw:v2:prices:A", "another schema version")

    result = await one.purge_all()
    await eventually(lambda: two.stats()["l1_entries"] == 0, within=1.0, what="two flushed")

    assert result.l2_ok and result.published and result.l1_evicted == 2
    assert sorted(await raw_redis.keys("*")) == [b"gw:label:123", b"gw:v2:prices:A"]
    await two.get_many("prices", ["A", "B"], upstream)
    assert upstream.calls[-1] == ["A", "B"]


async def test_subscriber_reconnect_flushes_l1(
    make_cache: CacheFactory, redis_server: RedisServer
) -> None:
    upstream = Upstream({"A": b"a"})
    cache = await make_cache()
    assert cache.counters.l1_flushes == 1  # the first subscription
    await cache.get("inventory", "A", upstream)
    assert cache.stats()["l1_entries"] == 1
    try:
        redis_server.stop()
        await eventually(lambda: cache.degraded, within=10.0, what="degraded")
    finally:
        redis_server.restart()
    # while away, invalidations may have been published and lost: L1 must not be trusted
    await eventually(lambda: cache.counters.l1_flushes == 2, within=10.0, what="resubscribed")
    assert cache.stats()["l1_entries"] == 0
    await eventually(lambda: not cache.degraded, within=5.0, what="not degraded")
    lookup = await cache.get("inventory", "A", upstream)
    assert lookup.status == "miss"
    assert len(upstream.calls) == 2


async def test_redis_dying_mid_traffic_fails_no_lookup(
    make_cache: CacheFactory, redis_server: RedisServer
) -> None:
    upstream = Upstream({f"K{i}": b"v" for i in range(50)})
    cache = await make_cache()
    await cache.get_many("inventory", [f"K{i}" for i in range(25)], upstream)
    failures = 0
    try:
        redis_server.stop()
        for i in range(50):  # half of them L1 hits, half misses that must be fetched
            try:
                async with asyncio.timeout(2.0):
                    lookups = await cache.get_many("inventory", [f"K{i}"], upstream)
                assert lookups[f"K{i}"].payload == b"v"
            except Exception:
                failures += 1
        assert cache.degraded
        assert cache.stats()["degraded"] == 1
        assert cache.counters.l2_errors > 0
        assert (await cache.invalidate(["sku:K1"])).l2_ok is False
    finally:
        redis_server.restart()
    assert failures == 0
    assert upstream.keys_fetched == [f"K{i}" for i in range(50)]
    # back to normal once Redis answers again
    await eventually(lambda: cache.counters.l1_flushes >= 2, within=10.0, what="resubscribed")
    await cache.get_many("inventory", ["K0"], upstream)
    await eventually(lambda: not cache.degraded, within=5.0, what="not degraded")


async def test_paused_redis_costs_a_short_timeout_not_a_failure(
    make_cache: CacheFactory, redis_server: RedisServer
) -> None:
    upstream = Upstream({"A": b"a", "B": b"b"})
    cache = await make_cache()
    await cache.get("inventory", "A", upstream)
    loop = asyncio.get_running_loop()
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = loop.time()
        lookup = await cache.get("inventory", "B", upstream)
        took = loop.time() - started
        assert lookup.payload == b"b"
        assert cache.degraded
        assert took < 2.0
        hit = await cache.get("inventory", "A", upstream)  # L1 untouched by the outage
        assert hit.status == "hit"
    finally:
        redis_server.process.send_signal(signal.SIGCONT)


async def test_subscriber_backs_off_instead_of_spinning(
    redis_clients: Callable[[CacheConfig], Redis],
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = CacheConfig()
    client = redis_clients(config)
    attempts = 0
    make_pubsub = client.pubsub

    def counting_pubsub() -> PubSub:
        nonlocal attempts
        attempts += 1
        return make_pubsub()

    monkeypatch.setattr(client, "pubsub", counting_pubsub)
    async with TieredCache(config, client):
        assert attempts == 1
        try:
            redis_server.stop()
            await asyncio.sleep(1.5)  # a rate is what is measured here: real time it is
        finally:
            redis_server.restart()
    # backoff 0.05, 0.1, 0.2, 0.4, 0.8 s: a handful of attempts, never hundreds
    assert 2 <= attempts <= 8


async def test_stale_refresh_on_one_replica_refreshes_the_other_without_a_fetch(
    make_cache: CacheFactory, clock: FakeClock
) -> None:
    upstream = Upstream({"K": b"v1"})
    one, two = await make_cache(clock=clock), await make_cache(clock=clock)
    await one.get("inventory", "K", upstream)
    await two.get("inventory", "K", upstream)
    clock.advance(6)
    upstream.data["K"] = b"v2"
    assert (await one.get("inventory", "K", upstream)).status == "stale"
    await settle(one)
    assert (await two.get("inventory", "K", upstream)).status == "stale"  # its L1 is old
    await settle(two)  # its refresh finds one's fresh entry in L2
    fresh = await two.get("inventory", "K", upstream)
    assert (fresh.status, fresh.payload) == ("hit", b"v2")
    assert upstream.calls == [["K"], ["K"]]
    assert two.counters.peer_fills == 1


async def test_negative_entries_are_shared_and_invalidatable(make_cache: CacheFactory) -> None:
    upstream = Upstream(tag_missing=True)
    one, two = await make_cache(), await make_cache()
    assert (await one.get("inventory", "NEW-1", upstream)).payload is None
    assert (await two.get("inventory", "NEW-1", upstream)).status == "hit"
    upstream.data["NEW-1"] = b"created"
    await one.invalidate(["sku:NEW-1"])
    await eventually(lambda: two.counters.invalidations == 1, within=1.0)
    lookup = await two.get("inventory", "NEW-1", upstream)
    assert lookup.payload == b"created"
    assert len(upstream.calls) == 2


async def test_stale_if_error_works_from_l2_on_a_fresh_replica(
    make_cache: CacheFactory, clock: FakeClock
) -> None:
    config = CacheConfig(policies={"inventory": FreshnessPolicy(
        fresh_ttl=5, stale_while_revalidate=0, stale_if_error=300)})
    upstream = Upstream({"K": b"v1"})
    one = await make_cache(config, clock=clock)
    await one.get("inventory", "K", upstream)
    clock.advance(60)
    upstream.error = ErpDown()
    newcomer: TieredCache = await make_cache(config, clock=clock)
    lookup = await newcomer.get("inventory", "K", upstream)
    assert (lookup.status, lookup.payload, lookup.detail) == ("stale", b"v1", "stale-if-error")


async def test_dropped_subscriber_connection_flushes_l1(
    make_cache: CacheFactory, raw_redis: Redis
) -> None:
    upstream = Upstream({"A": b"a"})
    cache = await make_cache()
    await cache.get("inventory", "A", upstream)
    assert await raw_redis.client_kill_filter(_type="pubsub") == 1
    await eventually(lambda: cache.counters.l1_flushes == 2, within=5.0, what="resubscribed")
    assert cache.stats()["l1_entries"] == 0
    lookup = await cache.get("inventory", "A", upstream)  # L2 still has it
    assert (lookup.status, len(upstream.calls)) == ("hit", 1)
