"""TieredCache: L1 in-process, L2 Redis, one upstream fetch per key per freshness window.

A lookup walks, per key: L1, then L2 (one MGET for the batch), then upstream.
Fresh entries are hits; entries within stale-while-revalidate are served at once
and refreshed in the background; everything else is forwarded. Forwarded keys
go through single-flight on this replica and a short Redis fill lock across
replicas (caching.fill); the upstream sees one call with all keys a request leads.

Background refreshes are bounded: at most ``max_refreshes`` run at once per replica, and
stale keys that come in while every slot is busy join one pending refresh per data class
and fetch function (a stale re-read of 34 SKUs, one request each, is one or two upstream
calls, not 34 concurrent ones).

Clocks: the wall clock dates entries (ages are shared across replicas through
L2), the monotonic clock expires L1; both are injectable. Waiting and backoff
use the event loop's own clock.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caching.config import CacheConfig, FreshnessPolicy
from caching.entry import Entry
from caching.fill import Filler, InvalidationLog, Outcome
from caching.invalidation import InvalidationMessage, InvalidationSubscriber, encode_message
from caching.l1 import L1Cache, L1Key
from caching.l2 import L2Store
from caching.metrics import ClassCounters, Counters
from caching.singleflight import SingleFlight
from caching.status import Lookup, Status
from caching.types import Fetch, RedisClient

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _PendingRefresh:
    """Stale keys waiting for a refresh slot; later stale keys join until it starts."""

    policy: FreshnessPolicy
    entries: dict[str, Entry]
    futures: dict[str, asyncio.Future[Outcome]]
    started: bool = False


@dataclass(frozen=True, slots=True)
class InvalidationResult:
    l1_evicted: int  # entries dropped from this replica's L1
    l2_ok: bool  # False: Redis unavailable, L2 entries live on until their TTL
    published: bool  # False: other replicas were not told (they keep L1 until its TTL)


class TieredCache:
    def __init__(
        self,
        config: CacheConfig,
        redis: RedisClient | None = None,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic_clock: Callable[[], float] = time.monotonic,
        max_refreshes: int = 4,
    ) -> None:
        self.config = config
        self.counters = Counters()
        self._wall = wall_clock
        self._l1 = L1Cache(config.l1_max_entries, monotonic_clock)
        self._l2 = L2Store(redis, config, self.counters) if redis is not None else None
        self._flights: SingleFlight[L1Key, Outcome] = SingleFlight()
        self._invalidations = InvalidationLog()
        self._filler = Filler(config, self._l1, self._l2, self._flights, self._invalidations,
                              self.counters, wall_clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._max_refreshes = max(1, max_refreshes)
        self._refresh_slots: asyncio.Semaphore | None = None  # made on the running loop
        self._pending_refresh: dict[tuple[str, Fetch], _PendingRefresh] = {}
        self._origin = uuid.uuid4().hex
        self._subscriber: InvalidationSubscriber | None = None

    async def __aenter__(self) -> TieredCache:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Subscribe to invalidations (waits briefly for the first subscription)."""
        if self._l2 is None or self._subscriber is not None:
            return
        self._subscriber = InvalidationSubscriber(
            self._l2.redis,
            self.config.invalidation_channel,
            on_message=self._on_invalidation,
            on_connect=self._on_subscribed,
        )
        await self._subscriber.start(wait=max(1.0, 4 * self.config.redis_socket_timeout))
        if not self._subscriber.connected:
            log.warning("cache started without its invalidation subscription; retrying")

    async def stop(self) -> None:
        """Stop the subscriber; cancel background refreshes and fills."""
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None:
            await subscriber.stop()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._flights.abandon_all()

    @property
    def degraded(self) -> bool:
        """Redis is configured but failing: serving from L1 and upstream only."""
        if self._l2 is None:
            return False
        subscriber = self._subscriber
        return self._l2.degraded or (subscriber is not None and not subscriber.connected)

    def set_policies(self, policies: Mapping[str, FreshnessPolicy]) -> None:
        """New freshness policies (a config reload); entries already cached keep their data."""
        merged = CacheConfig.model_validate({**self.config.model_dump(), "policies": policies})
        self.config = merged

    def redis_answered(self) -> None:
        """Redis answered someone's probe: use L2 again now rather than on the next miss."""
        if self._l2 is not None:
            self._l2.mark_healthy()

    def stats(self) -> dict[str, int]:
        """Counters plus current gauges, for a metrics endpoint."""
        return {
            **self.counters.as_dict(),
            "l1_entries": len(self._l1),
            "in_flight": len(self._flights),
            "background_tasks": len(self._tasks),
            "refreshes_waiting": sum(len(p.futures) for p in self._pending_refresh.values()),
            "degraded": int(self.degraded),
        }

    async def get(self, data_class: str, key: str, fetch: Fetch) -> Lookup:
        """One key's lookup; a fresh L1 entry is answered without building a batch."""
        entry = self._l1.get((data_class, key))
        if entry is not None:
            policy = self.config.policy(data_class)
            age = entry.age(self._wall())
            if age <= policy.fresh_ttl:  # policy.is_fresh(age), inlined on the hottest path
                self.counters.of(data_class).hits += 1
                return Lookup(entry.payload, "hit", entry.fetched_at, age, policy.fresh_ttl - age)
        return (await self.get_many(data_class, (key,), fetch))[key]

    async def get_many(
        self, data_class: str, keys: Sequence[str], fetch: Fetch
    ) -> dict[str, Lookup]:
        """A lookup per distinct key; ``fetch`` is called once with the keys to forward.

        Raises what ``fetch`` raised when a forwarded key has no entry young enough
        for stale-if-error. Redis problems never raise.
        """
        policy = self.config.policy(data_class)
        counts = self.counters.of(data_class)
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Lookup] = {}
        refresh: dict[str, Entry] = {}
        stale: dict[str, Entry] = {}  # too old to serve as is; kept for errors and fill waits
        missing: list[str] = []
        now = self._wall()
        for key in wanted:
            entry = self._l1.get((data_class, key))
            if entry is None or not self._serve(counts, key, entry, policy, now, found, refresh):
                missing.append(key)
                if entry is not None:
                    stale[key] = entry
        if missing and self._l2 is not None:
            from_l2 = await self._l2.get_many(data_class, missing) or {}
            now = self._wall()
            still: list[str] = []
            for key in missing:
                entry = from_l2.get(key)
                if entry is not None:
                    ttl = policy.retention - entry.age(now)
                    entry = self._l1.offer((data_class, key), entry, ttl)
                    if self._serve(counts, key, entry, policy, now, found, refresh):
                        continue
                    stale[key] = entry
                still.append(key)
            missing = still
        if refresh:
            self._revalidate(data_class, policy, refresh, fetch)
        if missing:
            found.update(await self._forward(data_class, policy, missing, stale, fetch))
        return {key: found[key] for key in wanted}

    async def invalidate(self, tags: Sequence[str]) -> InvalidationResult:
        """Evict every entry carrying one of ``tags``: here, in L2 and on every replica."""
        unique = tuple(dict.fromkeys(tags))
        if not unique:
            return InvalidationResult(0, True, True)
        self._invalidations.tags(unique)
        # L2 before L1: a read in between must not copy the old L2 entry back into L1
        l2_ok = await self._l2.invalidate_tags(unique) if self._l2 is not None else True
        evicted = self._l1.invalidate_tags(unique)
        self.counters.invalidations += 1
        published = await self._publish(InvalidationMessage(self._origin, tags=unique))
        return InvalidationResult(evicted, l2_ok, published)

    async def purge_all(self) -> InvalidationResult:
        """Drop everything in this cache namespace: here, in L2 and on every replica."""
        self._invalidations.everything()
        l2_ok = await self._l2.purge() if self._l2 is not None else True
        evicted = len(self._l1)
        self._l1.clear()
        self.counters.invalidations += 1
        published = await self._publish(InvalidationMessage(self._origin, purge=True))
        return InvalidationResult(evicted, l2_ok, published)

    def _serve(
        self,
        counts: ClassCounters,
        key: str,
        entry: Entry,
        policy: FreshnessPolicy,
        now: float,
        found: dict[str, Lookup],
        refresh: dict[str, Entry],
    ) -> bool:
        age = entry.age(now)
        if policy.is_fresh(age):
            counts.hits += 1
            found[key] = _lookup(entry, "hit", age, policy)
            return True
        if policy.can_revalidate_in_background(age):
            counts.stale_hits += 1
            found[key] = _lookup(entry, "stale", age, policy, detail="stale-while-revalidate")
            refresh[key] = entry
            return True
        return False

    def _revalidate(
        self, data_class: str, policy: FreshnessPolicy, entries: dict[str, Entry], fetch: Fetch
    ) -> None:
        idle = [k for k in entries if (data_class, k) not in self._flights]
        if not idle:
            return
        led, _ = self._flights.claim((data_class, k) for k in idle)
        self.counters.of(data_class).refreshes += len(led)
        futures = {k: f for (_, k), f in led.items()}
        slot = (data_class, fetch)
        pending = self._pending_refresh.get(slot)
        if pending is not None and not pending.started:
            pending.entries.update({k: entries[k] for k in futures})
            pending.futures.update(futures)
            return
        pending = _PendingRefresh(policy, {k: entries[k] for k in futures}, futures)
        self._pending_refresh[slot] = pending
        self._spawn(self._refresh(slot, pending), f"cache-refresh:{data_class}")

    async def _refresh(self, slot: tuple[str, Fetch], pending: _PendingRefresh) -> None:
        if self._refresh_slots is None:
            self._refresh_slots = asyncio.Semaphore(self._max_refreshes)
        try:
            async with self._refresh_slots:
                pending.started = True
                if self._pending_refresh.get(slot) is pending:
                    del self._pending_refresh[slot]
                await self._filler.run(slot[0], pending.policy, pending.entries, slot[1],
                                       pending.futures)
        except asyncio.CancelledError:
            if not pending.started:  # cancelled while waiting for a slot
                for key, future in pending.futures.items():
                    self._flights.abandon((slot[0], key), future)
                if self._pending_refresh.get(slot) is pending:
                    del self._pending_refresh[slot]
            raise

    async def _forward(
        self,
        data_class: str,
        policy: FreshnessPolicy,
        keys: list[str],
        stale: dict[str, Entry],
        fetch: Fetch,
    ) -> dict[str, Lookup]:
        led, joined = self._flights.claim((data_class, k) for k in keys)
        if led:
            futures = {k: f for (_, k), f in led.items()}
            self._spawn(self._filler.run(data_class, policy, stale, fetch, futures),
                        f"cache-fill:{data_class}")
        self.counters.of(data_class).coalesced_waits += len(joined)
        pending = {**led, **joined}
        # shielded: a caller that goes away must not cancel a fill others wait on
        outcomes = await asyncio.gather(*(asyncio.shield(pending[(data_class, k)]) for k in keys))
        now = self._wall()
        counts = self.counters.of(data_class)
        return {
            key: self._resolve(counts, key, outcome, stale.get(key), (data_class, key) in joined,
                               policy, now)
            for key, outcome in zip(keys, outcomes, strict=True)
        }

    def _resolve(
        self,
        counts: ClassCounters,
        key: str,
        outcome: Outcome,
        stale: Entry | None,
        joined: bool,
        policy: FreshnessPolicy,
        now: float,
    ) -> Lookup:
        fwd = "stale" if stale is not None else "uri-miss"
        entry = outcome.entry
        if outcome.kind in ("fetched", "peer") and entry is not None:
            counts.misses += 1
            return _lookup(entry, "miss", entry.age(now), policy, fwd=fwd,
                           stored=outcome.stored and not joined,
                           collapsed=joined or outcome.kind == "peer")
        if outcome.kind == "fallback" and entry is not None:
            counts.stale_hits += 1
            return _lookup(entry, "stale", entry.age(now), policy, fwd="stale",
                           detail="fill-wait")
        if stale is not None and policy.can_serve_on_error(stale.age(now)):
            counts.stale_hits += 1
            return _lookup(stale, "stale", stale.age(now), policy, fwd="stale",
                           detail="stale-if-error")
        raise outcome.error or RuntimeError(f"cache fill for {key!r} produced nothing")

    async def _publish(self, message: InvalidationMessage) -> bool:
        if self._l2 is None:
            return False
        # publish the way this replica subscribes (decided per subscription on Cluster)
        sharded = self._subscriber is not None and self._subscriber.sharded
        return await self._l2.publish(self.config.invalidation_channel, encode_message(message),
                                      sharded=sharded)

    def _on_invalidation(self, message: InvalidationMessage) -> None:
        if message.origin == self._origin:
            return  # applied when it was sent
        if message.purge:
            self._invalidations.everything()
            self._l1.clear()
        else:
            self._invalidations.tags(message.tags)
            self._l1.invalidate_tags(message.tags)
        self.counters.invalidations += 1

    def _on_subscribed(self) -> None:
        # whatever was published while unsubscribed is lost: forget everything local
        self._invalidations.everything()
        self._l1.clear()
        self.counters.l1_flushes += 1
        if self._l2 is not None:
            self._l2.mark_healthy()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("cache task %s failed", task.get_name(), exc_info=exc)


def _lookup(
    entry: Entry,
    status: Status,
    age: float,
    policy: FreshnessPolicy,
    *,
    fwd: str | None = None,
    stored: bool = False,
    collapsed: bool = False,
    detail: str | None = None,
) -> Lookup:
    return Lookup(payload=entry.payload, status=status, fetched_at=entry.fetched_at, age=age,
                  ttl=policy.fresh_ttl - age, fwd=fwd, stored=stored, collapsed=collapsed,
                  detail=detail)
