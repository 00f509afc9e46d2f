"""L2: the Redis tier shared by all replicas, and the fill locks that coordinate them.

Layout (``ns`` is ``{key_prefix}:v{schema_version}``)::

    {ns}:{data_class}:{key}        entry (see caching.entry), PX = what is left of its retention
    {ns}:tag:{tag}                 set of entry keys carrying the tag, TTL >= its longest member
    {ns}:lock:{data_class}:{key}   fill lock: SET NX PX fill_lock_ttl, value = owner token

Redis Cluster: no key carries a hash tag, so entries, tag sets and locks spread over all
slots. No command and no script touches two keys: batches are pipelines of one-key
commands (grouped per node by ``RedisCluster``), a batch read is ``MGET`` on one server
and ``mget_nonatomic`` (one ``MGET`` per slot) on Cluster, scripts run as ``EVAL`` on one
key each (Cluster pipelines refuse ``EVALSHA``), and deletes of many keys go through the
client, which splits them per slot. Tag invalidation is therefore not atomic across
entries; it never was (entries added meanwhile stay indexed, see ``invalidate_tags``).

Every operation is guarded: a Redis error or timeout is counted, logged once per
outage, and answered with ``None``/``False``; L2 is then skipped for
``l2_retry_after`` seconds. Nothing here ever raises a Redis error to a request.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from caching.config import CacheConfig
from caching.entry import Entry, EntryDecodeError, decode, encode
from caching.metrics import Counters
from caching.types import RedisClient

log = logging.getLogger(__name__)

T = TypeVar("T")

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_UNLINK_BATCH = 500
# admin operations (invalidate, purge) may touch many keys: a longer budget than a read
_ADMIN_TIMEOUT = 10.0


def redis_client(url: str, config: CacheConfig) -> Redis:
    """A client suited to the cache: bytes replies, short timeouts, one quick retry."""
    return Redis.from_url(
        url,
        socket_timeout=config.redis_socket_timeout,
        socket_connect_timeout=config.redis_socket_timeout,
        retry=Retry(NoBackoff(), 1),
    )


# add an entry to a tag's index and only ever extend the index's TTL (a shorter-lived entry
# must not shorten it); EXPIRE's NX/GT flags would say this on Redis 7 only
_INDEX_TAG = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""


class L2Store:
    def __init__(self, redis: RedisClient, config: CacheConfig, counters: Counters) -> None:
        if redis.get_encoder().decode_responses:
            raise ValueError("the cache needs a Redis client with decode_responses=False")
        self.redis = redis
        self._counters = counters
        self._ns = f"{config.key_prefix}:v{config.schema_version}"
        self._op_timeout = 2 * config.redis_socket_timeout
        self._retry_after = config.l2_retry_after
        self._down_until: float | None = None  # loop time; None while healthy

    @property
    def degraded(self) -> bool:
        """True from a failed operation until the next successful one."""
        return self._down_until is not None

    def mark_healthy(self) -> None:
        """Redis answered on another connection (the subscriber's): use L2 again now."""
        if self._down_until is not None:
            log.warning("Redis is back, L2 in use again")
            self._down_until = None

    def entry_key(self, data_class: str, key: str) -> str:
        return f"{self._ns}:{data_class}:{key}"

    def tag_key(self, tag: str) -> str:
        return f"{self._ns}:tag:{tag}"

    def lock_key(self, data_class: str, key: str) -> str:
        return f"{self._ns}:lock:{data_class}:{key}"

    async def get_many(self, data_class: str, keys: Sequence[str]) -> dict[str, Entry] | None:
        """Entries found for ``keys``; ``None`` when L2 is unavailable."""
        if not keys:
            return {}
        names = [self.entry_key(data_class, k) for k in keys]
        redis = self.redis
        raw = await self._run(lambda: redis.mget_nonatomic(names)
                              if isinstance(redis, RedisCluster) else redis.mget(names))
        if raw is None:
            return None
        return self._decode_all(keys, raw)

    async def put_many(
        self, data_class: str, entries: Mapping[str, Entry], retention: float, now: float
    ) -> bool:
        """Store entries until ``fetched_at + retention`` and index them by tag."""
        if not entries:
            return True

        async def op() -> Any:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, entry in entries.items():
                    left = entry.fetched_at + retention - now
                    if left <= 0:
                        continue
                    name = self.entry_key(data_class, key)
                    pipe.set(name, encode(entry), px=max(1, int(left * 1000)))
                    ttl = max(1, math.ceil(left))
                    for tag in entry.tags:
                        pipe.eval(_INDEX_TAG, 1, self.tag_key(tag), name, ttl)
                return await pipe.execute()

        return await self._run(op) is not None

    async def lock_and_peek(
        self, data_class: str, keys: Sequence[str], token: str, lock_ttl: float
    ) -> tuple[set[str], dict[str, Entry]] | None:
        """Try the fill lock of each key and read its entry in the same round trip.

        Returns the keys whose lock was taken and the entries present now (another
        replica may have filled them since the caller last looked); ``None`` when L2
        is unavailable.
        """
        names = [self.entry_key(data_class, k) for k in keys]

        async def op() -> Any:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.set(self.lock_key(data_class, key), token, nx=True,
                             px=max(1, int(lock_ttl * 1000)))
                for name in names:
                    pipe.get(name)
                return await pipe.execute()

        replies = await self._run(op)
        if replies is None:
            return None
        count = len(keys)
        locked = {key for key, ok in zip(keys, replies[:count], strict=True) if ok}
        return locked, self._decode_all(keys, replies[count:])

    async def poll(
        self, data_class: str, keys: Sequence[str]
    ) -> tuple[dict[str, Entry], set[str]] | None:
        """Entries present for ``keys`` and the keys whose fill lock is still held."""
        names = [self.entry_key(data_class, k) for k in keys]
        locks = [self.lock_key(data_class, k) for k in keys]

        async def op() -> Any:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in (*names, *locks):
                    pipe.get(name)
                return await pipe.execute()

        replies = await self._run(op)
        if replies is None:
            return None
        count = len(keys)
        held = {key for key, value in zip(keys, replies[count:], strict=True)
                if value is not None}
        return self._decode_all(keys, replies[:count]), held

    async def release(self, data_class: str, keys: Iterable[str], token: str) -> None:
        """Drop the fill locks this owner still holds (others' locks are left alone)."""
        names = [self.lock_key(data_class, k) for k in keys]
        if not names:
            return

        async def op() -> Any:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.eval(_RELEASE, 1, name, token)
                return await pipe.execute()

        await self._run(op)

    async def invalidate_tags(self, tags: Sequence[str]) -> bool:
        """Delete every entry indexed under ``tags``."""
        if not tags:
            return True
        tag_names = [self.tag_key(t) for t in tags]

        async def op() -> Any:
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in tag_names:
                    pipe.smembers(name)
                members: list[set[bytes]] = await pipe.execute()
            done = 0
            for name, keys in zip(tag_names, members, strict=True):
                batch = list(keys)
                for start in range(0, len(batch), _UNLINK_BATCH):
                    chunk = batch[start:start + _UNLINK_BATCH]
                    # entries may sit in many slots: the client splits the UNLINK per slot
                    done += await self.redis.unlink(*chunk)
                    # SREM only what was read: members added meanwhile stay indexed
                    await self.redis.srem(name, *chunk)
            return done

        return await self._run(op, _ADMIN_TIMEOUT) is not None

    async def purge(self) -> bool:
        """Delete every key of this namespace (entries, tag sets, locks)."""

        async def op() -> int:
            deleted = 0
            batch: list[bytes] = []
            async for name in self.redis.scan_iter(match=f"{self._ns}:*", count=1000):
                batch.append(name)
                if len(batch) >= _UNLINK_BATCH:
                    deleted += await self.redis.unlink(*batch)
                    batch.clear()
            if batch:
                deleted += await self.redis.unlink(*batch)
            return deleted

        return await self._run(op, _ADMIN_TIMEOUT) is not None

    async def publish(self, channel: str, message: bytes, *, sharded: bool = False) -> bool:
        """``SPUBLISH`` when ``sharded`` (Cluster, Redis 7+), else ``PUBLISH``."""
        if sharded:
            return await self._run(lambda: self.redis.spublish(channel, message)) is not None
        return await self._run(lambda: self.redis.publish(channel, message)) is not None

    def _decode_all(self, keys: Sequence[str], raw: Sequence[object]) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        for key, value in zip(keys, raw, strict=True):
            if not isinstance(value, bytes):  # None: absent
                continue
            try:
                found[key] = decode(value)
            except EntryDecodeError as exc:  # a foreign or corrupt value is a miss
                log.warning("unreadable L2 entry for %r: %s", key, exc)
        return found

    async def _run(
        self, op: Callable[[], Awaitable[T]], budget: float | None = None
    ) -> T | None:
        loop = asyncio.get_running_loop()
        if self._down_until is not None and loop.time() < self._down_until:
            return None
        try:
            async with asyncio.timeout(budget or self._op_timeout):
                result = await op()
        except (RedisError, OSError, TimeoutError) as exc:
            self._counters.l2_errors += 1
            if self._down_until is None:
                log.warning("Redis unavailable, serving without L2: %r", exc)
            self._down_until = loop.time() + self._retry_after
            return None
        self.mark_healthy()
        return result

