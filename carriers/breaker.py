"""In-memory circuit breaker: one per carrier account per replica.

States::

    closed ──(failure rate >= threshold with >= minimum calls in the window)──► open
    open ──(open_seconds elapsed; the next caller becomes the probe)──► half_open
    half_open ──(probe succeeds)──► closed        (window cleared)
    half_open ──(probe fails)──► open              (timer restarts)

An operator can force a breaker open (it stays open, refusing every call, until reset)
and reset it (closed, window cleared). ``listeners`` hear every state change as
``(account, old state, new state)``.

Failures are ``CarrierUnavailable`` (5xx, 429, transport errors, ``CarrierTimeout``).
Any other ``CarrierError`` (a 4xx ``CarrierRejected``) proves the carrier is up and
counts as a success. Cancellation counts as neither. While open, and while the single
half-open probe runs, callers get ``BreakerOpen`` at once and the carrier is not called.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from carriers.base import CarrierError, CarrierUnavailable
from carriers.config import BreakerConfig
from carriers.models import CarrierMessage

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerOpen(CarrierUnavailable):
    """The account's breaker refused the call; the carrier was not contacted."""

    def __init__(self, carrier: str, account: str, retry_after: int) -> None:
        super().__init__(carrier, [CarrierMessage(
            carrier=carrier, code="breaker_open",
            message=f"{account}: circuit open after repeated failures; retry in {retry_after} s")])
        self.account = account
        self.retry_after = retry_after


class BreakerSnapshot(BaseModel):
    """What GET /admin/carriers shows for one account."""

    model_config = ConfigDict(frozen=True)

    account: str
    carrier: str
    state: BreakerState
    failure_rate: float
    calls_in_window: int
    failures_in_window: int
    opened_at: datetime | None
    retry_in_seconds: float | None
    # lifetime counters, for the metrics endpoint
    calls: int
    successes: int
    failures: int
    rejected: int
    times_opened: int
    # held open by an operator (POST /admin/carriers/{account}/open) until reset
    forced_open: bool = False


class CircuitBreaker:
    def __init__(
        self,
        account: str,
        config: BreakerConfig,
        *,
        carrier: str = "",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.account = account
        self.carrier = carrier or account
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self._state = BreakerState.CLOSED
        self._window: deque[tuple[float, bool]] = deque()
        self._opened_at = 0.0
        self._opened_at_wall: datetime | None = None
        self._probing = False
        self._calls = self._successes = self._failures = 0
        self._rejected = self._times_opened = 0
        self._forced = False
        self.listeners: list[Callable[[str, BreakerState, BreakerState], None]] = []

    @property
    def state(self) -> BreakerState:
        """The effective state: an open breaker whose timer ran out reports half_open."""
        if self._state is BreakerState.OPEN and self._open_remaining() <= 0 and not self._forced:
            return BreakerState.HALF_OPEN
        return self._state

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` if the breaker admits it, and record how it ended."""
        probe = self._admit()
        try:
            result = await operation()
        except CarrierUnavailable:
            self._record(ok=False, probe=probe)
            raise
        except CarrierError:
            self._record(ok=True, probe=probe)
            raise
        except BaseException:
            if probe:  # cancelled or broken probe: let the next caller probe instead
                self._probing = False
            raise
        self._record(ok=True, probe=probe)
        return result

    def snapshot(self) -> BreakerSnapshot:
        self._prune(self._clock())
        calls = len(self._window)
        failures = sum(1 for _, ok in self._window if not ok)
        state = self.state
        remaining = (self._open_remaining() if state is BreakerState.OPEN and not self._forced
                     else None)
        return BreakerSnapshot(
            account=self.account, carrier=self.carrier, state=state,
            failure_rate=failures / calls if calls else 0.0,
            calls_in_window=calls, failures_in_window=failures,
            opened_at=self._opened_at_wall if state is not BreakerState.CLOSED else None,
            retry_in_seconds=remaining,
            calls=self._calls, successes=self._successes, failures=self._failures,
            rejected=self._rejected, times_opened=self._times_opened, forced_open=self._forced)

    def force_open(self) -> None:
        """Refuse every call until ``reset``: an operator takes the account out of service."""
        self._forced = True
        self._probing = False
        if self._state is not BreakerState.OPEN:
            self._open(self._clock())

    def reset(self) -> None:
        """Close the breaker now and forget the window (and any forced open)."""
        self._forced = False
        self._probing = False
        self._window.clear()
        self._set(BreakerState.CLOSED)

    def _set(self, state: BreakerState) -> None:
        old, self._state = self._state, state
        if old is not state:
            for listener in self.listeners:
                listener(self.account, old, state)

    def _admit(self) -> bool:
        """Return whether this call is the half-open probe; raise BreakerOpen to refuse it."""
        if self._state is BreakerState.OPEN:
            if self._forced or self._open_remaining() > 0:
                self._reject()
            self._set(BreakerState.HALF_OPEN)
            self._probing = False
        if self._state is BreakerState.HALF_OPEN:
            if self._probing:
                self._reject()
            self._probing = True
            return True
        return False

    def _reject(self) -> None:
        self._rejected += 1
        remaining = self.config.open_seconds if self._forced else self._open_remaining()
        retry_after = max(1, math.ceil(remaining))
        raise BreakerOpen(self.carrier, self.account, retry_after)

    def _record(self, *, ok: bool, probe: bool) -> None:
        now = self._clock()
        self._calls += 1
        if ok:
            self._successes += 1
        else:
            self._failures += 1
        if self._forced:
            return  # held open by an operator: no call decides anything
        if probe:
            self._probing = False
            if ok:
                self._window.clear()
                self._set(BreakerState.CLOSED)
            else:
                self._open(now)
            return
        if self._state is not BreakerState.CLOSED:
            return  # a call admitted before the breaker opened; the decision is already made
        self._window.append((now, ok))
        self._prune(now)
        calls = len(self._window)
        failures = sum(1 for _, good in self._window if not good)
        if calls >= self.config.minimum_calls and failures / calls >= self.config.failure_rate:
            self._open(now)

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._opened_at_wall = self._wall_clock()
        self._times_opened += 1
        self._set(BreakerState.OPEN)

    def _open_remaining(self) -> float:
        return self._opened_at + self.config.open_seconds - self._clock()

    def _prune(self, now: float) -> None:
        horizon = now - self.config.window_seconds
        while self._window and self._window[0][0] <= horizon:
            self._window.popleft()
