"""L1: this replica's in-process tier, a bounded LRU with per-entry expiry and a tag index.

Every method is synchronous and never awaits, so on one event loop no two
coroutines can interleave inside it; no lock is needed. cachetools itself is
neither thread- nor coroutine-aware, which is why it is only used behind this class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cachetools import TLRUCache

from caching.entry import Entry

L1Key = tuple[str, str]  # (data class, key)


@dataclass(frozen=True, slots=True)
class _Slot:
    entry: Entry
    ttl: float  # seconds on the monotonic clock, from the moment of insertion


def _time_to_use(key: L1Key, slot: _Slot, now: float) -> float:
    return now + slot.ttl


class _EvictingTLRU(TLRUCache[L1Key, _Slot]):
    """A TLRU cache that reports what it drops on its own (LRU pressure or expiry)."""

    def __init__(
        self,
        maxsize: int,
        timer: Callable[[], float],
        on_evict: Callable[[L1Key, _Slot], None],
    ) -> None:
        super().__init__(maxsize, _time_to_use, timer)
        self._on_evict = on_evict

    def popitem(self) -> tuple[L1Key, _Slot]:
        key, slot = super().popitem()
        self._on_evict(key, slot)
        return key, slot

    def expire(self, time: float | None = None) -> list[tuple[L1Key, _Slot]]:
        expired = super().expire(time)
        for key, slot in expired:
            self._on_evict(key, slot)
        return expired


class L1Cache:
    def __init__(self, maxsize: int, monotonic: Callable[[], float]) -> None:
        self._cache = _EvictingTLRU(maxsize, monotonic, self._evicted)
        self._slots: dict[L1Key, _Slot] = {}  # the slot each key is indexed under
        self._by_tag: dict[str, set[L1Key]] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def get(self, key: L1Key) -> Entry | None:
        # indexing, not TLRUCache.get(), which checks expiry twice (bench/RESULTS.md)
        try:
            return self._cache[key].entry
        except KeyError:  # absent or expired
            return None

    def set(self, key: L1Key, entry: Entry, ttl: float) -> None:
        """Keep ``entry`` for ``ttl`` seconds (or until evicted or invalidated)."""
        if ttl <= 0:
            self.delete(key)
            return
        self._unindex(key)
        slot = _Slot(entry, ttl)
        self._cache[key] = slot
        self._slots[key] = slot
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(key)

    def offer(self, key: L1Key, entry: Entry, ttl: float) -> Entry:
        """Keep ``entry`` unless a newer one is held; returns whichever is newest."""
        current = self.get(key)
        if current is not None and current.fetched_at >= entry.fetched_at:
            return current
        self.set(key, entry, ttl)
        return entry

    def delete(self, key: L1Key) -> None:
        self._unindex(key)
        try:
            del self._cache[key]
        except KeyError:  # absent, or already expired (TLRU removes it and still raises)
            pass

    def invalidate_tags(self, tags: Iterable[str]) -> int:
        """Drop every entry carrying one of ``tags``; returns how many were dropped."""
        keys: set[L1Key] = set()
        for tag in tags:
            keys |= self._by_tag.get(tag, set())
        for key in keys:
            self.delete(key)
        return len(keys)

    def clear(self) -> None:
        self._cache.clear()
        self._slots.clear()
        self._by_tag.clear()

    def _evicted(self, key: L1Key, slot: _Slot) -> None:
        if self._slots.get(key) is slot:  # not a replaced, already unindexed value
            self._unindex(key)

    def _unindex(self, key: L1Key) -> None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        for tag in slot.entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
