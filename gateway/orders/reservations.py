"""Short holds on (SKU, warehouse) while an order is checked and created in the ERP.

Whoever holds every (SKU, warehouse) of an order reads the ERP's availability, decides and
creates the order; the hold is released once the ERP confirmed or refused, so the next
order reads availability the first one already lowered. Two replicas therefore never both
accept the last unit. The ERP stays the authority: a hold reserves nothing in it.

Redis: all keys of one order are taken at once or not at all (one Lua script, so two
orders never hold half of each other's keys), with a TTL so a dead holder frees them;
released by compare-and-delete on the holder's token. The keys share one hash tag (Redis
Cluster runs a multi-key script on one slot). Without Redis, per-process asyncio locks
taken in sorted order. Redis configured but failing refuses the order (503): a replica
alone cannot know what the others hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Iterable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

# KEYS: the holds; ARGV[1] token, ARGV[2] TTL in ms. All or nothing.
_TAKE = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""
# KEYS: the holds; ARGV[1] token. Deletes the ones this token still holds.
_RELEASE = """
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key); n = n + 1 end
end
return n
"""


class ReservationBusy(Exception):
    """Another order holds some of this order's stock beyond the wait."""

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        names = ", ".join(f"{sku} in {warehouse}" for sku, warehouse in keys)
        super().__init__(f"another order is being placed for {names}; retry shortly")
        self.keys = keys


class ReservationUnavailable(Exception):
    """The shared reservation store (Redis) cannot be reached."""


class Reservations(Protocol):
    def hold(self, keys: Iterable[tuple[str, str]]) -> contextlib.AbstractAsyncContextManager[
            None]:
        """Hold every (SKU, warehouse) for the block; ``ReservationBusy`` after the wait."""
        ...


class LocalReservations:
    """Holds within this process only (no Redis configured)."""

    def __init__(self, wait_seconds: float) -> None:
        self._wait = wait_seconds
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, keys: Iterable[tuple[str, str]]) -> AsyncIterator[None]:
        wanted = sorted(set(keys))  # one order of acquisition: no deadlock between orders
        held: list[asyncio.Lock] = []
        try:
            async with asyncio.timeout(self._wait):
                for key in wanted:
                    lock = self._locks.setdefault(key, asyncio.Lock())
                    await lock.acquire()
                    held.append(lock)
        except TimeoutError:
            for lock in held:
                lock.release()
            raise ReservationBusy(wanted[len(held):]) from None
        try:
            yield
        finally:
            for lock in held:
                lock.release()
            for key in wanted:
                idle = self._locks.get(key)
                if idle is not None and not idle.locked():
                    del self._locks[key]


class RedisReservations:
    """Holds shared by every replica through Redis."""

    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: float,
                 wait_seconds: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._wait = wait_seconds
        self._take = redis.register_script(_TAKE)
        self._release = redis.register_script(_RELEASE)
        # on Cluster, EVAL: EVALSHA's fallback (SCRIPT LOAD to every master) fails while any
        # master is lost, even for the one that owns the holds' slot
        self._eval = isinstance(redis, RedisCluster)

    async def _run(self, script: Any, source: str, keys: list[str], args: list[Any]) -> Any:
        if self._eval:
            return await self._redis.eval(source, len(keys), *keys, *args)
        return await script(keys=keys, args=args)

    def key(self, sku: str, warehouse: str) -> str:
        # one hash tag for all holds; SKU and warehouse codes may hold any printable text
        return f"{self._prefix}{{holds}}:{len(sku)}:{sku}|{warehouse}"

    @contextlib.asynccontextmanager
    async def hold(self, keys: Iterable[tuple[str, str]]) -> AsyncIterator[None]:
        wanted = sorted(set(keys))
        names = [self.key(sku, warehouse) for sku, warehouse in wanted]
        token = secrets.token_hex(16)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._wait
        delay = 0.01
        while True:
            try:
                taken = await self._run(self._take, _TAKE, names, [token, self._ttl_ms])
            except RedisError as exc:
                raise ReservationUnavailable(f"cannot reserve stock in Redis: {exc}") from exc
            if taken:
                break
            if loop.time() + delay > give_up:
                raise ReservationBusy(wanted)
            await asyncio.sleep(delay)  # polling another replica's hold: no event to wait on
            delay = min(delay * 2, 0.2)
        try:
            yield
        finally:
            with contextlib.suppress(RedisError):  # the TTL frees what we could not
                await self._run(self._release, _RELEASE, names, [token])
