from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from carriers.base import CarrierRejected, CarrierTimeout, CarrierUnavailable
from carriers.breaker import BreakerOpen, BreakerState, CircuitBreaker
from carriers.config import BreakerConfig
from tests.carriers.factories import FakeClock

CONFIG = BreakerConfig(window_seconds=30, minimum_calls=5, failure_rate=0.5, open_seconds=30)


class Calls:
    def __init__(self) -> None:
        self.count = 0

    async def ok(self) -> str:
        self.count += 1
        return "ok"

    async def down(self) -> str:
        self.count += 1
        raise CarrierUnavailable("sandbox", [], status_code=503)

    async def timeout(self) -> str:
        self.count += 1
        raise CarrierTimeout("sandbox", [])

    async def rejected(self) -> str:
        self.count += 1
        raise CarrierRejected("sandbox", [], status_code=400)


def make(clock: FakeClock, config: BreakerConfig = CONFIG) -> CircuitBreaker:
    return CircuitBreaker("sbx", config, carrier="sandbox", clock=clock,
                          wall_clock=lambda: datetime(2025, 1, 1, tzinfo=UTC))


def state(breaker: CircuitBreaker) -> BreakerState:
    # a function call, so the type checker does not narrow the property between asserts
    return breaker.state


async def fail_times(breaker: CircuitBreaker, calls: Calls, n: int) -> None:
    for _ in range(n):
        with pytest.raises(CarrierUnavailable):
            await breaker.call(calls.down)


async def trip(breaker: CircuitBreaker, calls: Calls) -> None:
    await fail_times(breaker, calls, CONFIG.minimum_calls)
    assert state(breaker) is BreakerState.OPEN


async def test_breaker_stays_closed_below_the_minimum_number_of_calls() -> None:
    breaker, calls = make(FakeClock()), Calls()
    await fail_times(breaker, calls, 4)
    assert state(breaker) is BreakerState.CLOSED
    assert await breaker.call(calls.ok) == "ok"


async def test_breaker_opens_when_the_failure_rate_reaches_the_threshold() -> None:
    breaker, calls = make(FakeClock()), Calls()
    await breaker.call(calls.ok)
    await breaker.call(calls.ok)
    await fail_times(breaker, calls, 2)
    assert state(breaker) is BreakerState.CLOSED  # 2 of 4, under the minimum
    with pytest.raises(CarrierTimeout):  # timeouts are failures: 3 of 5 = 0.6
        await breaker.call(calls.timeout)
    assert state(breaker) is BreakerState.OPEN
    snapshot = breaker.snapshot()
    assert snapshot.times_opened == 1
    assert snapshot.failure_rate == pytest.approx(0.6)
    assert snapshot.opened_at == datetime(2025, 1, 1, tzinfo=UTC)


async def test_breaker_stays_closed_when_the_failure_rate_is_below_the_threshold() -> None:
    breaker, calls = make(FakeClock()), Calls()
    for _ in range(3):
        await breaker.call(calls.ok)
    await fail_times(breaker, calls, 2)
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.snapshot().failure_rate == pytest.approx(0.4)


async def test_carrier_4xx_counts_as_success() -> None:
    breaker, calls = make(FakeClock()), Calls()
    for _ in range(10):
        with pytest.raises(CarrierRejected):
            await breaker.call(calls.rejected)
    snapshot = breaker.snapshot()
    assert snapshot.state is BreakerState.CLOSED
    assert (snapshot.successes, snapshot.failures) == (10, 0)


async def test_open_breaker_rejects_without_calling_the_carrier() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await trip(breaker, calls)
    clock.advance(10)
    for _ in range(3):
        with pytest.raises(BreakerOpen) as caught:
            await breaker.call(calls.ok)
    assert calls.count == CONFIG.minimum_calls
    assert caught.value.retry_after == 20
    assert caught.value.messages[0].code == "breaker_open"
    assert isinstance(caught.value, CarrierUnavailable)
    snapshot = breaker.snapshot()
    assert snapshot.rejected == 3
    assert snapshot.retry_in_seconds == pytest.approx(20)


async def test_window_forgets_calls_older_than_window_seconds() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await fail_times(breaker, calls, 4)
    clock.advance(31)
    await fail_times(breaker, calls, 1)
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.snapshot().calls_in_window == 1


async def test_half_open_admits_exactly_one_probe_under_concurrency() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await trip(breaker, calls)
    clock.advance(30)
    assert state(breaker) is BreakerState.HALF_OPEN
    release = asyncio.Event()
    probes = 0

    async def slow_probe() -> str:
        nonlocal probes
        probes += 1
        await release.wait()
        return "recovered"

    probe = asyncio.create_task(breaker.call(slow_probe))
    await asyncio.sleep(0)  # the probe is admitted and waiting
    others = await asyncio.gather(*(breaker.call(slow_probe) for _ in range(50)),
                                  return_exceptions=True)
    assert all(isinstance(result, BreakerOpen) for result in others)
    assert probes == 1
    release.set()
    assert await probe == "recovered"
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.snapshot().rejected == 50
    assert await breaker.call(calls.ok) == "ok"


async def test_failed_probe_reopens_and_restarts_the_timer() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await trip(breaker, calls)
    clock.advance(30)
    await fail_times(breaker, calls, 1)
    assert state(breaker) is BreakerState.OPEN
    assert breaker.snapshot().times_opened == 2
    clock.advance(29)
    with pytest.raises(BreakerOpen):
        await breaker.call(calls.ok)
    clock.advance(1)
    assert await breaker.call(calls.ok) == "ok"
    assert state(breaker) is BreakerState.CLOSED


async def test_rejected_probe_closes_the_breaker() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await trip(breaker, calls)
    clock.advance(30)
    with pytest.raises(CarrierRejected):
        await breaker.call(calls.rejected)
    assert state(breaker) is BreakerState.CLOSED


async def test_cancelled_probe_lets_the_next_caller_probe() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await trip(breaker, calls)
    clock.advance(30)
    probe = asyncio.create_task(breaker.call(asyncio.Event().wait))
    await asyncio.sleep(0)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert await breaker.call(calls.ok) == "ok"
    assert state(breaker) is BreakerState.CLOSED


async def test_results_of_calls_admitted_before_opening_do_not_change_the_decision() -> None:
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    release = asyncio.Event()

    async def late_success() -> str:
        await release.wait()
        return "late"

    straggler = asyncio.create_task(breaker.call(late_success))
    await asyncio.sleep(0)
    await trip(breaker, calls)
    release.set()
    assert await straggler == "late"
    assert state(breaker) is BreakerState.OPEN


async def test_listeners_hear_every_state_change_in_order():
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    heard: list[tuple[str, str, str]] = []
    breaker.listeners.append(lambda account, old, new: heard.append((account, old, new)))
    await fail_times(breaker, calls, 5)
    clock.advance(CONFIG.open_seconds)
    assert await breaker.call(calls.ok) == "ok"  # the half-open probe succeeds
    assert heard == [("sbx", "closed", "open"), ("sbx", "open", "half_open"),
                     ("sbx", "half_open", "closed")]


async def test_a_forced_open_breaker_refuses_past_its_timer_until_reset():
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    breaker.force_open()
    clock.advance(CONFIG.open_seconds * 10)
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(BreakerOpen) as refused:
        await breaker.call(calls.ok)
    assert calls.count == 0 and refused.value.retry_after == CONFIG.open_seconds
    assert breaker.snapshot().forced_open is True
    breaker.reset()
    assert state(breaker) is BreakerState.CLOSED and breaker.snapshot().forced_open is False
    assert await breaker.call(calls.ok) == "ok"


async def test_a_probe_in_flight_does_not_close_a_breaker_forced_open_meanwhile():
    clock, calls = FakeClock(), Calls()
    breaker = make(clock)
    await fail_times(breaker, calls, 5)
    clock.advance(CONFIG.open_seconds)
    release = asyncio.Event()

    async def slow_ok() -> str:
        await release.wait()
        return "ok"

    probe = asyncio.create_task(breaker.call(slow_ok))
    await asyncio.sleep(0)  # the probe is admitted and waits
    breaker.force_open()
    release.set()
    assert await probe == "ok"
    assert state(breaker) is BreakerState.OPEN
