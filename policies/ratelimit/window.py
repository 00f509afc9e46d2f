"""Sliding-window-counter arithmetic, shared by the Redis paths and the in-process fallback.

The counter keeps two buckets: the current window's count and the previous window's count,
the latter weighted by the share of it that still overlaps the sliding window. The shapes
and the rounding follow the ``limits`` library's Redis scripts, so every path agrees on
what "used" means: ``floor(previous * previous_ttl / expiry) + current``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import floor


@dataclass(frozen=True, slots=True)
class Window:
    """A snapshot of one key's counters; TTLs in seconds, as Redis would report them."""

    previous: int
    previous_ttl: float
    current: int
    current_ttl: float
    expiry: int

    def used(self) -> int:
        return floor(self.previous * self.previous_ttl / self.expiry) + self.current

    def remaining(self, limit: int) -> int:
        return max(0, limit - self.used())

    def roll_in(self) -> float:
        """Seconds until the current bucket becomes the previous one."""
        return max(0.0, self.current_ttl - self.expiry)

    def reset_after(self) -> float:
        """Seconds until more quota is made available (the ``t`` of the RateLimit field)."""
        if self.used() == 0:
            return 0.0
        whole = floor(self.previous * self.previous_ttl / self.expiry)
        roll = self.roll_in()
        if whole > 0:
            # the previous bucket's weight loses one whole unit after this long
            return min(max(0.0, self.previous_ttl - whole * self.expiry / self.previous), roll)
        return roll

    def retry_after(self, limit: int, cost: int = 1) -> float:
        """Seconds until ``cost`` more units would be admitted (0 when they would be now)."""
        if self.used() + cost <= limit:
            return 0.0
        roll = self.roll_in()
        if self.current + cost <= limit:
            # only the previous bucket's weight is in the way: wait for it to decay
            allowed = limit - self.current - cost
            decay = self.previous_ttl - (allowed + 1) * self.expiry / self.previous
            return min(max(0.0, decay), roll)
        # the current bucket alone is full: it must roll over and decay in turn
        after_roll = self.expiry - (limit - cost + 1) * self.expiry / self.current
        return roll + max(0.0, after_roll)


@dataclass(slots=True)
class _Slot:
    index: int
    expiry: int
    previous: int = 0
    current: int = 0


class LocalWindows:
    """In-process sliding-window counters on an injectable clock (used while Redis is away)."""

    _PRUNE_EVERY = 4096

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._slots: dict[str, _Slot] = {}
        self._ops = 0

    def acquire(self, key: str, limit: int, expiry: int, cost: int = 1) -> tuple[bool, Window]:
        """Count ``cost`` unless that would exceed ``limit``; a rejection counts nothing."""
        now = self._clock()
        index = int(now // expiry)
        slot = self._slots.get(key)
        if slot is None or slot.index < index - 1 or slot.expiry != expiry:
            slot = self._slots[key] = _Slot(index, expiry)
        elif slot.index == index - 1:
            slot.index, slot.previous, slot.current = index, slot.current, 0
        elapsed = now - index * expiry
        self._ops += 1
        if self._ops % self._PRUNE_EVERY == 0:
            self._prune(now)
        admit = Window(slot.previous, expiry - elapsed, slot.current + cost,
                       2 * expiry - elapsed, expiry)
        if admit.used() > limit:
            return False, Window(slot.previous, expiry - elapsed, slot.current,
                                 2 * expiry - elapsed, expiry)
        slot.current += cost
        return True, admit

    def clear(self) -> None:
        self._slots.clear()

    def __len__(self) -> int:
        return len(self._slots)

    def _prune(self, now: float) -> None:
        stale = [k for k, s in self._slots.items() if s.index < int(now // s.expiry) - 1]
        for key in stale:
            del self._slots[key]
