"""TieredCache behaviour on L1 alone (no Redis): single-flight, batching, stale rules."""

from __future__ import annotations

import asyncio
import logging

import pytest

from caching import CacheConfig, FreshnessPolicy, TieredCache
from tests.caching.conftest import FakeClock, Upstream, eventually, settle


class ErpDown(Exception):
    pass


def l1_cache(clock: FakeClock, config: CacheConfig | None = None) -> TieredCache:
    return TieredCache(config or CacheConfig(), None, wall_clock=clock.wall,
                       monotonic_clock=clock.mono)


async def test_hundred_concurrent_misses_of_one_key_make_one_fetch(clock: FakeClock) -> None:
    upstream = Upstream({"SKU-1": b"one"})
    upstream.gate = asyncio.Event()
    async with l1_cache(clock) as cache:
        tasks = [asyncio.create_task(cache.get("inventory", "SKU-1", upstream))
                 for _ in range(100)]
        await eventually(lambda: cache.counters.coalesced_waits == 99, what="99 joined")
        upstream.gate.set()
        lookups = await asyncio.gather(*tasks)

    assert upstream.calls == [["SKU-1"]]
    assert {lk.payload for lk in lookups} == {b"one"}
    assert all(lk.status == "miss" for lk in lookups)
    assert sum(lk.stored for lk in lookups) == 1
    assert sum(lk.collapsed for lk in lookups) == 99
    assert cache.counters.fetches == 1
    assert cache.counters.misses == 100


async def test_batch_fetches_only_the_missing_keys_in_one_call(clock: FakeClock) -> None:
    keys = [f"SKU-{i:04d}" for i in range(100)]
    upstream = Upstream({k: k.encode() for k in keys})
    async with l1_cache(clock) as cache:
        await cache.get_many("inventory", keys[:90], upstream)
        upstream.calls.clear()

        lookups = await cache.get_many("inventory", keys, upstream)

    assert upstream.calls == [keys[90:]]
    assert list(lookups) == keys
    assert [lk.status for lk in lookups.values()] == ["hit"] * 90 + ["miss"] * 10
    assert all(lookups[k].payload == k.encode() for k in keys)


async def test_duplicate_keys_are_fetched_once(clock: FakeClock) -> None:
    upstream = Upstream({"A": b"a", "B": b"b"})
    async with l1_cache(clock) as cache:
        lookups = await cache.get_many("inventory", ["A", "B", "A"], upstream)
    assert upstream.calls == [["A", "B"]]
    assert list(lookups) == ["A", "B"]


async def test_stale_is_served_at_once_and_refreshed_once_in_background(
    clock: FakeClock,
) -> None:
    upstream = Upstream({"SKU-1": b"v1"})
    async with l1_cache(clock) as cache:
        await cache.get("inventory", "SKU-1", upstream)
        clock.advance(6)  # fresh 5 s, stale-while-revalidate 30 s
        upstream.data["SKU-1"] = b"v2"
        upstream.gate = asyncio.Event()

        first = await cache.get("inventory", "SKU-1", upstream)
        second = await cache.get("inventory", "SKU-1", upstream)  # refresh still held
        assert (first.status, first.payload) == ("stale", b"v1")
        assert (second.status, second.payload) == ("stale", b"v1")
        assert first.cache_status() == (
            "erp-gateway; hit; ttl=-1; detail=stale-while-revalidate")
        assert first.age == pytest.approx(6)

        upstream.gate.set()
        await settle(cache)
        fresh = await cache.get("inventory", "SKU-1", upstream)

    assert upstream.calls == [["SKU-1"], ["SKU-1"]]
    assert cache.counters.refreshes == 1
    assert (fresh.status, fresh.payload) == ("hit", b"v2")


async def test_failing_background_refresh_is_logged_not_raised(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = Upstream({"SKU-1": b"v1"})
    async with l1_cache(clock) as cache:
        await cache.get("inventory", "SKU-1", upstream)
        clock.advance(10)
        upstream.error = ErpDown("erp is down")
        with caplog.at_level(logging.WARNING, logger="caching"):
            lookup = await cache.get("inventory", "SKU-1", upstream)
            await settle(cache)

    assert (lookup.status, lookup.payload) == ("stale", b"v1")
    assert cache.counters.fetch_errors == 1
    assert "erp is down" in caplog.text


async def test_stale_if_error_serves_old_entry_then_gives_up(clock: FakeClock) -> None:
    upstream = Upstream({"SKU-1": b"v1"})
    async with l1_cache(clock) as cache:
        await cache.get("inventory", "SKU-1", upstream)
        upstream.error = ErpDown("erp is down")

        clock.advance(100)  # past fresh + swr (35 s), within fresh + sie (305 s)
        served = await cache.get("inventory", "SKU-1", upstream)
        assert (served.status, served.payload) == ("stale", b"v1")
        assert served.cache_status() == "erp-gateway; fwd=stale; ttl=-95; detail=stale-if-error"

        clock.advance(206)  # 306 s old: past stale-if-error
        with pytest.raises(ErpDown):
            await cache.get("inventory", "SKU-1", upstream)

    assert len(upstream.calls) == 3  # the first fill, then one attempt per failing read
    assert cache.counters.fetch_errors == 2
    assert cache.counters.stale_hits == 1


async def test_stale_if_error_applies_when_swr_is_longer_than_sie(clock: FakeClock) -> None:
    config = CacheConfig(policies={"inventory": FreshnessPolicy(
        fresh_ttl=5, stale_while_revalidate=10, stale_if_error=60)})
    upstream = Upstream({"SKU-1": b"v1"})
    async with l1_cache(clock, config) as cache:
        await cache.get("inventory", "SKU-1", upstream)
        upstream.error = ErpDown()
        clock.advance(30)
        lookup = await cache.get("inventory", "SKU-1", upstream)
    assert lookup.detail == "stale-if-error"


async def test_error_without_any_entry_propagates(clock: FakeClock) -> None:
    upstream = Upstream()
    upstream.error = ErpDown("no route to ERP")
    async with l1_cache(clock) as cache:
        with pytest.raises(ErpDown, match="no route"):
            await cache.get_many("inventory", ["A", "B"], upstream)
    assert upstream.calls == [["A", "B"]]


async def test_unknown_keys_are_cached_as_not_found(clock: FakeClock) -> None:
    upstream = Upstream({"KNOWN": b"k"})
    async with l1_cache(clock) as cache:
        first = await cache.get_many("inventory", ["KNOWN", "NOPE"], upstream)
        second = await cache.get_many("inventory", ["KNOWN", "NOPE"], upstream)
        clock.advance(6)
        third = await cache.get("inventory", "NOPE", upstream)  # stale: refreshed as well
        await settle(cache)

    assert first["NOPE"].payload is None and not first["NOPE"].found
    assert first["NOPE"].cache_status() == "erp-gateway; fwd=uri-miss; stored; ttl=5"
    assert second["NOPE"].status == "hit" and second["NOPE"].payload is None
    assert third.status == "stale" and third.payload is None
    assert upstream.calls == [["KNOWN", "NOPE"], ["NOPE"]]


async def test_invalidate_evicts_local_entries_by_tag(clock: FakeClock) -> None:
    upstream = Upstream({"A": b"a", "B": b"b"}, tag_missing=True)
    async with l1_cache(clock) as cache:
        await cache.get_many("inventory", ["A", "B", "GHOST"], upstream)
        result = await cache.invalidate(["sku:A", "sku:GHOST"])
        after = await cache.get_many("inventory", ["A", "B", "GHOST"], upstream)

    assert result.l1_evicted == 2
    assert not result.published  # no Redis: nobody to tell
    assert upstream.calls[-1] == ["A", "GHOST"]
    assert after["B"].status == "hit"


async def test_data_classes_do_not_share_entries(clock: FakeClock) -> None:
    upstream = Upstream({"K": b"k"})
    async with l1_cache(clock) as cache:
        await cache.get("inventory", "K", upstream)
        prices = await cache.get("prices", "K", upstream)
        with pytest.raises(ValueError, match="no freshness policy"):
            await cache.get("shipping", "K", upstream)
    assert prices.status == "miss"
    assert len(upstream.calls) == 2


async def test_entry_is_dropped_from_l1_after_its_retention(clock: FakeClock) -> None:
    upstream = Upstream({"K": b"k"})
    async with l1_cache(clock) as cache:
        await cache.get("inventory", "K", upstream)
        clock.advance(306)  # fresh 5 + max(swr 30, sie 300)
        lookup = await cache.get("inventory", "K", upstream)
    assert lookup.status == "miss" and lookup.fwd == "uri-miss"


async def test_fetch_started_before_an_invalidation_is_served_but_not_stored(
    clock: FakeClock,
) -> None:
    upstream = Upstream({"K": b"old"})
    upstream.gate = asyncio.Event()
    async with l1_cache(clock) as cache:
        pending = asyncio.create_task(cache.get("inventory", "K", upstream))
        await upstream.started.wait()
        await cache.invalidate(["sku:K"])  # the ERP changed while we were reading it
        upstream.gate.set()
        raced = await pending
        upstream.gate = None
        upstream.data["K"] = b"new"
        after = await cache.get("inventory", "K", upstream)

    assert (raced.payload, raced.stored) == (b"old", False)
    assert (after.status, after.payload) == ("miss", b"new")


async def test_stop_cancels_background_refreshes(clock: FakeClock) -> None:
    upstream = Upstream({"K": b"v1"})
    cache = l1_cache(clock)
    async with cache:
        await cache.get("inventory", "K", upstream)
        clock.advance(6)
        upstream.gate = asyncio.Event()  # never opened
        upstream.started.clear()
        await cache.get("inventory", "K", upstream)
        await upstream.started.wait()
        assert cache.stats()["background_tasks"] == 1
    assert cache.stats()["background_tasks"] == 0
    assert cache.stats()["in_flight"] == 0


async def test_a_cancelled_caller_does_not_cancel_the_shared_fetch(clock: FakeClock) -> None:
    upstream = Upstream({"K": b"k"})
    upstream.gate = asyncio.Event()
    async with l1_cache(clock) as cache:
        leader = asyncio.create_task(cache.get("inventory", "K", upstream))
        follower = asyncio.create_task(cache.get("inventory", "K", upstream))
        await eventually(lambda: cache.counters.coalesced_waits == 1)
        leader.cancel()
        upstream.gate.set()
        lookup = await follower
    assert leader.cancelled()
    assert lookup.payload == b"k"
    assert upstream.calls == [["K"]]


async def test_counters_track_each_path(clock: FakeClock) -> None:
    upstream = Upstream({"A": b"a", "B": b"b"})
    async with l1_cache(clock) as cache:
        await cache.get_many("inventory", ["A", "B"], upstream)  # 2 misses, 1 fetch
        await cache.get_many("inventory", ["A", "B"], upstream)  # 2 hits
        clock.advance(6)
        await cache.get("inventory", "A", upstream)  # stale + refresh
        await settle(cache)
        clock.advance(100)
        upstream.error = ErpDown()
        await cache.get("inventory", "B", upstream)  # stale-if-error
        await cache.invalidate(["sku:A"])
        stats = cache.stats()

    assert cache.counters.as_dict() == {
        "hits": 2, "stale_hits": 2, "misses": 2, "coalesced_waits": 0, "peer_fills": 0,
        "fetches": 3, "fetch_errors": 1, "refreshes": 1, "l2_errors": 0, "invalidations": 1,
        "l1_flushes": 0,
    }
    assert stats["l1_entries"] == 1 and stats["degraded"] == 0


async def test_fetch_returning_non_bytes_is_an_upstream_error(clock: FakeClock) -> None:
    async def bad_fetch(keys: list[str]) -> dict[str, tuple[bytes | None, list[str]]]:
        return {k: ("text", []) for k in keys}  # type: ignore[misc]

    async with l1_cache(clock) as cache:
        with pytest.raises(TypeError, match="bytes or None"):
            await cache.get("inventory", "K", bad_fetch)
        assert cache.counters.fetch_errors == 1


async def test_stop_before_a_refresh_ran_leaves_nothing_in_flight(clock: FakeClock) -> None:
    upstream = Upstream({"K": b"v1"})
    cache = l1_cache(clock)
    async with cache:
        await cache.get("inventory", "K", upstream)
        clock.advance(6)
        await cache.get("inventory", "K", upstream)  # schedules a refresh; stop comes first
    assert cache.stats()["in_flight"] == 0
    assert len(upstream.calls) == 1
