"""The shared counters in Redis, on one server, behind Sentinel, or on Redis Cluster.

Keys are the ones ``limits``' sliding-window-counter strategy uses (so ``limits`` reads
the same windows)::

    <prefix>:{<limits key>}        current window count (TTL 2 x window at creation)
    <prefix>:{<limits key>}/-1     previous window count (TTL = its remaining weight)

Both names share one hash tag, so they live in one Redis Cluster slot; the two scripts
below are the only multi-key commands and each touches one key pair. ``RESERVE_LUA``
grants ``min(wanted, limit - used)`` atomically: strict mode runs it with ``wanted = 1``
(the same test-and-increment as ``limits``' ``acquire_sliding_window_entry``, a rejected
hit increments nothing, and the window comes back in the same round trip); synced mode
reserves and returns whole chunks of quota. Both apply ``limits``' window roll-over.

The client is the replica's shared one (``redis.asyncio.Redis``, Sentinel-managed or
``RedisCluster``); ``limits``' own storages build a client of their own per URL, which
would give each replica a second pool. Refunds go in one pipeline of ``EVAL`` (Cluster
pipelines refuse ``EVALSHA``), grouped by node on Cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from policies.ratelimit.window import Window

# Shared prologue: shift an expired current window into the previous slot, as limits does.
_ROLL = """
local expiry = tonumber(ARGV[1]) * 1000
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
"""

# ARGV: expiry (s), limit, wanted units. Grants min(wanted, limit - used), never more.
RESERVE_LUA = _ROLL + """
local limit = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local previous = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(tonumber(redis.call('pttl', KEYS[1])), 0)
local current = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])), 0)
local used = math.floor(previous * previous_ttl / expiry) + current
local granted = math.max(0, math.min(wanted, limit - used))
if granted > 0 then
    if redis.call('exists', KEYS[2]) == 1 then
        redis.call('incrby', KEYS[2], granted)
    else
        redis.call('set', KEYS[2], granted, 'PX', expiry * 2)
        current_ttl = expiry * 2
    end
    current = current + granted
end
return {granted, previous, previous_ttl, current, current_ttl}
"""

# ARGV: expiry (s), units, 1 = previous window / 2 = current window. Never goes below zero.
REFUND_LUA = _ROLL + """
local key = KEYS[tonumber(ARGV[3])]
local count = tonumber(redis.call('get', key)) or 0
local returned = math.min(count, tonumber(ARGV[2]))
if returned > 0 then
    redis.call('decrby', key, returned)
end
return returned
"""

PREVIOUS, CURRENT = 1, 2

RedisClient = aioredis.Redis | RedisCluster


class RedisUnavailable(Exception):
    """Redis refused, timed out or failed a command; the caller degrades instead of failing."""


@dataclass(frozen=True, slots=True)
class Refund:
    key: str
    expiry: int
    units: int
    bucket: int  # PREVIOUS or CURRENT


class RedisCounters:
    """Async access to the shared sliding-window counters; every failure is ``RedisUnavailable``."""

    def __init__(self, client: RedisClient, *, key_prefix: str, deadline: float,
                 owns_client: bool = False) -> None:
        self._client = client
        self._owns_client = owns_client
        self._prefix = key_prefix
        # a hard bound on one exchange, whatever timeouts a handed-in client has
        self._deadline = deadline
        self._reserve = client.register_script(RESERVE_LUA)
        # EVALSHA's fallback, SCRIPT LOAD, goes to every master: one lost master would fail
        # every reservation, so Cluster sends the script itself (the server caches it)
        self._eval = isinstance(client, RedisCluster)

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str, socket_timeout: float,
                 connect_timeout: float, deadline: float, max_connections: int = 32
                 ) -> RedisCounters:
        """A client of our own: short timeouts, one immediate retry on a broken connection only.

        The pool is bounded and blocking: a burst queues for a connection (up to the connect
        timeout) instead of opening hundreds of connections at once. Connecting gets its own,
        longer timeout: a new connection costs a resolver hop and a handshake, and a cold
        burst must not be mistaken for an outage.
        """
        pool = aioredis.BlockingConnectionPool.from_url(
            url.removeprefix("async+"),
            max_connections=max_connections,
            timeout=connect_timeout,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        client = aioredis.Redis.from_pool(pool)
        return cls(client, key_prefix=key_prefix, deadline=deadline, owns_client=True)

    def redis_keys(self, key: str) -> tuple[str, str]:
        """(previous, current) Redis key names for a ``limits`` key."""
        current = f"{self._prefix}:{{{key}}}"
        return f"{current}/-1", current

    async def hit(self, key: str, limit: int, expiry: int) -> tuple[bool, Window]:
        """Strict mode: an atomic test-and-increment of one unit, and the window it left."""
        granted, window = await self.reserve(key, limit, expiry, 1)
        return granted == 1, window

    async def window(self, key: str, expiry: int) -> Window:
        """The window of ``key`` as it stands; counts nothing."""
        # a reservation of nothing: the same roll-over as limits, then the counts
        _, window = await self.reserve(key, 0, expiry, 0)
        return window

    async def reserve(self, key: str, limit: int, expiry: int, wanted: int) -> tuple[int, Window]:
        """Atomically take up to ``wanted`` units; returns the grant and the window after it."""
        async with self._guard():
            keys = self.redis_keys(key)
            if self._eval:
                reply = await self._client.eval(RESERVE_LUA, 2, *keys, expiry, limit, wanted)
            else:
                reply = await self._reserve(keys=keys, args=(expiry, limit, wanted))
        granted, previous, previous_ttl, current, current_ttl = (int(v) for v in reply)
        window = Window(previous, previous_ttl / 1000, current, current_ttl / 1000, expiry)
        return granted, window

    async def refund(self, refunds: list[Refund]) -> None:
        """Give unspent units back, all keys in one round trip."""
        if not refunds:
            return
        async with self._guard(), self._client.pipeline(transaction=False) as pipe:
            for r in refunds:
                pipe.eval(REFUND_LUA, 2, *self.redis_keys(r.key), r.expiry, r.units, r.bucket)
            await pipe.execute()

    async def ping(self) -> bool:
        try:
            async with self._guard():
                return bool(await self._client.ping())
        except RedisUnavailable:
            return False

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        """Deadline plus exception translation around one Redis exchange."""
        try:
            async with asyncio.timeout(self._deadline):
                yield
        except (RedisError, OSError, TimeoutError) as exc:
            raise RedisUnavailable(str(exc) or type(exc).__name__) from exc
