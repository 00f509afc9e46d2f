"""Background refreshes are bounded: many stale single-key reads do not start one upstream
call each."""

from __future__ import annotations

import asyncio

from caching import CacheConfig, FreshnessPolicy, TieredCache
from tests.caching.conftest import FakeClock, Upstream, eventually, settle

SKUS = [f"SKU-{i:02d}" for i in range(34)]
CONFIG = CacheConfig(policies={"inventory": FreshnessPolicy(
    fresh_ttl=5, stale_while_revalidate=30, stale_if_error=60)})


async def _stale_cache(clock: FakeClock, upstream: Upstream, **kw: int) -> TieredCache:
    cache = TieredCache(CONFIG, None, wall_clock=clock.wall, monotonic_clock=clock.mono, **kw)
    await cache.start()
    await cache.get_many("inventory", SKUS, upstream)
    upstream.calls.clear()
    clock.advance(10)  # past fresh, within stale-while-revalidate
    return cache


async def test_34_stale_reads_at_once_share_one_refresh(clock: FakeClock) -> None:
    upstream = Upstream({sku: sku.encode() for sku in SKUS})
    cache = await _stale_cache(clock, upstream)
    try:
        lookups = await asyncio.gather(*(cache.get("inventory", sku, upstream) for sku in SKUS))
        await settle(cache)
    finally:
        await cache.stop()

    assert all(lk.status == "stale" for lk in lookups)
    assert sorted(upstream.keys_fetched) == sorted(SKUS)
    assert len(upstream.calls) == 1


async def test_no_more_refreshes_run_at_once_than_the_bound(clock: FakeClock) -> None:
    upstream = Upstream({sku: sku.encode() for sku in SKUS})
    cache = await _stale_cache(clock, upstream, max_refreshes=2)
    upstream.gate = asyncio.Event()
    try:
        # one stale read per loop turn: each could start its own refresh
        for sku in SKUS:
            assert (await cache.get("inventory", sku, upstream)).status == "stale"
            await asyncio.sleep(0)
        await eventually(lambda: len(upstream.calls) == 2, what="two refreshes running")
        assert cache.stats()["refreshes_waiting"] == len(SKUS) - len(upstream.keys_fetched)
        upstream.gate.set()
        await settle(cache)
    finally:
        await cache.stop()

    # two held refreshes, then the keys that queued meanwhile in one more call
    assert len(upstream.calls) == 3
    assert sorted(upstream.keys_fetched) == sorted(SKUS)
    assert all(cache.stats()[k] == 0 for k in ("refreshes_waiting", "in_flight"))
