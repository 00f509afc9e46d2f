"""Per-key state of synced mode: quota reserved from Redis and handed out locally.

A lease never admits a unit that Redis did not grant it, so replicas together can never
exceed the limit; what they can do is hold granted units they do not use. Holdings are
kept small (sized by the key's recent rate, capped at ``lease_fraction`` of the limit) and
returned: when a key sat idle for a whole sync tick, and when its window rolled over.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from math import ceil, floor, inf

from policies.ratelimit.redis_store import CURRENT, PREVIOUS
from policies.ratelimit.window import Window

# refunds this close to a window boundary might land in the wrong bucket: drop them instead
_BOUNDARY_MARGIN = 0.25


@dataclass(slots=True)
class Held:
    """Granted units not handed out, with the time their window rolls over (clock seconds)."""

    units: int
    rolls_at: float


@dataclass(slots=True)
class Lease:
    key: str
    limit: int
    expiry: int
    max_hold: int
    horizon: float  # seconds of traffic one reservation aims to cover
    allowance: int = 0
    rolls_at: float = -inf  # when the window the allowance was counted in rolls over
    seen_at: float = 0.0  # when Redis last answered a reservation
    shared_remaining: int = 0
    reset_at: float = -inf
    low_water: int = -1  # prefetch when the allowance falls to this
    blocked_until: float = -inf  # Redis said "none left": reject locally until then
    retry_at: float = -inf
    pending: asyncio.Task[None] | None = None
    waiting: int = 0
    rate: float = 0.0  # admitted units per second, smoothed
    counted: int = 0  # admitted since ``counted_since``
    counted_since: float = 0.0
    last_used: float = -inf
    stale: list[Held] = field(default_factory=list)

    def wanted(self) -> int:
        """Units to ask Redis for: the waiters, or what the recent rate spends in ``horizon``."""
        expected = min(self.max_hold, ceil(self.rate * self.horizon))
        return max(1, self.waiting, expected)

    def take(self, now: float) -> bool:
        """Hand out one unit of the allowance, if any is left in a window still current."""
        if self.allowance <= 0:
            return False
        if now >= self.rolls_at:
            self.retire()
            return False
        self.allowance -= 1
        self.counted += 1
        self.last_used = now
        return True

    def retire(self) -> None:
        """Move the allowance aside for refunding (its window is over, or the key went idle)."""
        if self.allowance > 0:
            self.stale.append(Held(self.allowance, self.rolls_at))
        self.allowance = 0

    def granted(self, now: float, units: int, wanted: int, window: Window,
                interval: float) -> None:
        """Record a reservation's outcome (``units < wanted``: the shared quota is spent)."""
        elapsed = now - self.counted_since
        if elapsed > 0:
            recent = self.counted / elapsed
            self.rate = recent if self.rate == 0 else (self.rate + recent) / 2
        self.counted, self.counted_since = 0, now
        expected = min(self.max_hold, floor(self.rate * self.horizon))
        # a busy key reserves ahead, in the background, once half its expected use is left
        self.low_water = expected // 2 if expected >= 1 else -1
        self.seen_at = now
        self.shared_remaining = window.remaining(self.limit)
        self.reset_at = now + window.reset_after()
        if units > 0:
            rolls_at = now + window.roll_in()
            if self.allowance > 0 and rolls_at > self.rolls_at + self.expiry / 2:
                self.retire()  # the old units belong to the window that just ended
            if self.allowance == 0:
                self.rolls_at = rolls_at
            self.allowance += units
        retry = window.retry_after(self.limit)
        self.retry_at = now + retry
        if units < wanted:
            # don't ask again before the next interval (nor spin if Redis rounds differently)
            self.blocked_until = now + min(interval, max(retry, interval / 10))

    def retry_after(self, now: float) -> float:
        return max(0.0, self.retry_at - now)

    def refunds(self, now: float, interval: float) -> list[tuple[int, int]]:
        """Pop what should go back to Redis now, as (units, bucket) pairs; idle holdings too."""
        if self.allowance > 0 and self.pending is None and now - self.last_used >= interval \
                and now - self.seen_at >= interval:
            self.retire()
        out: list[tuple[int, int]] = []
        for held in self.stale:
            bucket = refund_bucket(now, held.rolls_at, self.expiry)
            if bucket is not None:
                out.append((held.units, bucket))
        self.stale.clear()
        return out

    def idle(self, now: float, grace: float) -> bool:
        return (self.allowance == 0 and not self.stale and self.pending is None
                and self.waiting == 0 and now - self.last_used > grace)


def refund_bucket(now: float, rolls_at: float, expiry: int) -> int | None:
    """Which Redis bucket units counted in a window rolling at ``rolls_at`` are in now."""
    if now < rolls_at - _BOUNDARY_MARGIN:
        return CURRENT
    if rolls_at + _BOUNDARY_MARGIN <= now < rolls_at + expiry - _BOUNDARY_MARGIN:
        return PREVIOUS
    return None  # too close to a boundary, or already expired: keeping them is the safe side
