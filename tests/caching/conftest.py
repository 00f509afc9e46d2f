"""Shared test doubles for the cache: a fake clock, a recording upstream, Redis clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack

import pytest
from redis.asyncio import Redis

from caching import CacheConfig, FetchResult, TieredCache, redis_client


class FakeClock:
    """Wall and monotonic clocks that move only when told to."""

    def __init__(self, wall: float = 1_700_000_000.0, mono: float = 1_000.0) -> None:
        self._wall = wall
        self._mono = mono

    def wall(self) -> float:
        return self._wall

    def mono(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._wall += seconds
        self._mono += seconds


class Upstream:
    """A fake ERP: records every call; can be held at a gate or made to fail."""

    def __init__(self, data: dict[str, bytes] | None = None, *, tag_missing: bool = False) -> None:
        self.data = dict(data or {})
        self.calls: list[list[str]] = []
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.tag_missing = tag_missing  # answer unknown keys with (None, tags) explicitly

    async def __call__(self, keys: list[str]) -> FetchResult:
        self.calls.append(list(keys))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        out: dict[str, tuple[bytes | None, Sequence[str]]] = {}
        for key in keys:
            if key in self.data:
                out[key] = (self.data[key], [f"sku:{key}"])
            elif self.tag_missing:
                out[key] = (None, [f"sku:{key}"])
        return out

    @property
    def keys_fetched(self) -> list[str]:
        return [k for call in self.calls for k in call]


async def eventually(
    condition: Callable[[], bool], within: float = 5.0, what: str = "condition"
) -> float:
    """Wait (bounded) until ``condition()`` holds; returns the seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not condition():
        if loop.time() - start > within:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.01)
    return loop.time() - start


async def settle(cache: TieredCache, within: float = 5.0) -> None:
    """Wait until the cache has no background refresh or fill running."""
    await eventually(lambda: cache.stats()["background_tasks"] == 0, within, "background idle")


CacheFactory = Callable[..., Awaitable[TieredCache]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def redis_clients(redis_url: str) -> AsyncIterator[Callable[[CacheConfig], Redis]]:
    """Make cache-style Redis clients on the test server; all closed at teardown."""
    made: list[Redis] = []

    def make(config: CacheConfig) -> Redis:
        client = redis_client(redis_url, config)
        made.append(client)
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.aclose()


@pytest.fixture
async def raw_redis(redis_url: str) -> AsyncIterator[Redis]:
    """A plain client for inspecting what the cache wrote."""
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def make_cache(
    redis_clients: Callable[[CacheConfig], Redis],
) -> AsyncIterator[CacheFactory]:
    """Started TieredCaches on the test Redis (``redis=False`` for L1 only); stopped after."""
    async with AsyncExitStack() as stack:

        async def make(
            config: CacheConfig | None = None, *, redis: bool = True, clock: FakeClock | None = None
        ) -> TieredCache:
            config = config or CacheConfig()
            kwargs = {"wall_clock": clock.wall, "monotonic_clock": clock.mono} if clock else {}
            cache = TieredCache(config, redis_clients(config) if redis else None, **kwargs)
            return await stack.enter_async_context(cache)

        yield make
