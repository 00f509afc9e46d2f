"""Filling keys from upstream: fill locks across replicas, waiting on peers, fetch, store.

A fill leads a set of keys (see caching.singleflight) and, in one Redis round
trip, takes each key's fill lock and re-reads its entry. Keys a peer filled
meanwhile are done; keys whose lock it got are fetched in one upstream call;
keys locked by a peer are polled in L2 for up to ``fill_wait``. Keys the peer
did not deliver fall back to the stale entry the leader had, else are fetched.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cachetools import LRUCache

from caching.config import CacheConfig, FreshnessPolicy
from caching.entry import Entry
from caching.l1 import L1Cache
from caching.l2 import L2Store
from caching.metrics import Counters
from caching.singleflight import SingleFlight
from caching.types import Fetch

log = logging.getLogger(__name__)

_MAX_TAG_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a fill produced for one key."""

    kind: Literal["fetched", "peer", "fallback", "failed"]
    entry: Entry | None = None
    stored: bool = False
    error: Exception | None = None


class InvalidationLog:
    """Remembers recent invalidations so a fill that raced one does not store old data."""

    def __init__(self) -> None:
        self._generation = 0
        self._purged_at = 0
        self._tags: LRUCache[str, int] = LRUCache(maxsize=65_536)

    def now(self) -> int:
        return self._generation

    def tags(self, tags: Iterable[str]) -> None:
        self._generation += 1
        for tag in tags:
            self._tags[tag] = self._generation

    def everything(self) -> None:
        self._generation += 1
        self._purged_at = self._generation

    def outdated(self, entry: Entry, since: int) -> bool:
        """Was ``entry`` invalidated after generation ``since`` (when its fetch began)?"""
        if self._purged_at > since:
            return True
        return any(self._tags.get(tag, 0) > since for tag in entry.tags)


class Filler:
    def __init__(
        self,
        config: CacheConfig,
        l1: L1Cache,
        l2: L2Store | None,
        flights: SingleFlight[tuple[str, str], Outcome],
        invalidations: InvalidationLog,
        counters: Counters,
        wall_clock: Callable[[], float],
    ) -> None:
        self._config = config
        self._l1 = l1
        self._l2 = l2
        self._flights = flights
        self._invalidations = invalidations
        self._counters = counters
        self._wall = wall_clock

    async def run(
        self,
        data_class: str,
        policy: FreshnessPolicy,
        stale: Mapping[str, Entry],
        fetch: Fetch,
        futures: Mapping[str, asyncio.Future[Outcome]],
    ) -> None:
        """Fill the keys of ``futures`` and resolve every one of them, whatever happens.

        ``stale`` holds the entries the leader could fall back to if a peer is slow.
        """
        keys = list(futures)
        try:
            outcomes = await self._fill(data_class, policy, keys, stale, fetch)
        except asyncio.CancelledError:
            for key, future in futures.items():
                self._flights.abandon((data_class, key), future)
            raise
        except Exception as exc:  # a bug here must not leave waiters hanging
            log.exception("cache fill failed for %s", data_class)
            outcomes = {key: Outcome("failed", error=exc) for key in keys}
        for key, future in futures.items():
            missing = Outcome("failed", error=RuntimeError(f"no outcome for {key!r}"))
            self._flights.resolve((data_class, key), future, outcomes.get(key, missing))

    async def _fill(
        self,
        data_class: str,
        policy: FreshnessPolicy,
        keys: list[str],
        stale: Mapping[str, Entry],
        fetch: Fetch,
    ) -> dict[str, Outcome]:
        since = self._invalidations.now()
        outcomes: dict[str, Outcome] = {}
        to_fetch: list[str] = keys
        waiting: list[str] = []
        locked: set[str] = set()
        token = uuid.uuid4().hex
        got = None
        if self._l2 is not None:
            got = await self._l2.lock_and_peek(data_class, keys, token, self._config.fill_lock_ttl)
        if got is not None:
            locked, present = got
            outcomes.update(self._peer_fills(data_class, policy, present))
            to_fetch = [k for k in keys if k in locked and k not in outcomes]
            waiting = [k for k in keys if k not in locked and k not in outcomes]
        try:
            fetched, from_peers = await asyncio.gather(
                self._fetch(data_class, policy, to_fetch, fetch, since),
                self._wait_for_peers(data_class, policy, waiting),
            )
            outcomes.update(fetched)
            outcomes.update(from_peers)
            # the peer neither filled nor holds the lock any more, or the wait ran out
            left = [k for k in waiting if k not in from_peers]
            outcomes.update({k: Outcome("fallback", stale[k]) for k in left if k in stale})
            ours = [k for k in left if k not in stale]
            outcomes.update(await self._fetch(data_class, policy, ours, fetch, since))
        finally:
            if locked and self._l2 is not None:
                await self._l2.release(data_class, locked, token)
        return outcomes

    def _peer_fills(
        self, data_class: str, policy: FreshnessPolicy, present: Mapping[str, Entry]
    ) -> dict[str, Outcome]:
        now = self._wall()
        filled: dict[str, Outcome] = {}
        for key, entry in present.items():
            age = entry.age(now)
            if policy.is_fresh(age):
                kept = self._l1.offer((data_class, key), entry, policy.retention - age)
                filled[key] = Outcome("peer", kept)
        self._counters.of(data_class).peer_fills += len(filled)
        return filled

    async def _wait_for_peers(
        self, data_class: str, policy: FreshnessPolicy, keys: list[str]
    ) -> dict[str, Outcome]:
        """Poll L2 until a peer's fill lands, its lock goes, or ``fill_wait`` runs out."""
        if not keys or self._l2 is None:
            return {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.fill_wait
        interval = max(0.01, self._config.fill_wait / 10)
        pending = list(keys)
        filled: dict[str, Outcome] = {}
        while pending and (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(interval, left))
            polled = await self._l2.poll(data_class, pending)
            if polled is None:  # L2 went away: stop waiting, fetch ourselves
                break
            present, held = polled
            filled.update(self._peer_fills(data_class, policy, present))
            pending = [k for k in pending if k not in filled and k in held]
        return filled

    async def _fetch(
        self,
        data_class: str,
        policy: FreshnessPolicy,
        keys: list[str],
        fetch: Fetch,
        since: int,
    ) -> dict[str, Outcome]:
        if not keys:
            return {}
        self._counters.of(data_class).fetches += 1
        started = self._wall()
        try:
            raw = await fetch(list(keys))
            entries = {key: _entry(raw.get(key), started) for key in keys}
        except Exception as exc:
            self._counters.of(data_class).fetch_errors += 1
            log.warning("upstream fetch of %d %s key(s) failed: %r", len(keys), data_class, exc)
            return {key: Outcome("failed", error=exc) for key in keys}
        storable = {
            k: e for k, e in entries.items() if not self._invalidations.outdated(e, since)
        }
        await self._store(data_class, policy, storable)
        return {k: Outcome("fetched", e, stored=k in storable) for k, e in entries.items()}

    async def _store(
        self, data_class: str, policy: FreshnessPolicy, entries: Mapping[str, Entry]
    ) -> None:
        now = self._wall()
        for key, entry in entries.items():
            self._l1.set((data_class, key), entry, policy.retention - entry.age(now))
        if self._l2 is not None:
            await self._l2.put_many(data_class, entries, policy.retention, now)


def _entry(value: tuple[bytes | None, Sequence[str]] | None, fetched_at: float) -> Entry:
    # dated at the start of the fetch: the upstream may have read its data any time after
    if value is None:
        return Entry(None, fetched_at)
    payload, tags = value
    if payload is not None and not isinstance(payload, bytes):
        raise TypeError(f"fetch must return bytes or None, got {type(payload).__name__}")
    checked = tuple(dict.fromkeys(tags))
    if any(not isinstance(t, str) or len(t.encode()) > _MAX_TAG_BYTES for t in checked):
        raise ValueError(f"tags must be strings of at most {_MAX_TAG_BYTES} bytes")
    return Entry(payload, fetched_at, checked)
