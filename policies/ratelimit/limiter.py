"""Admission decisions against shared sliding-window counters in Redis.

Three ways to decide, one per situation:

``strict``
    Every request runs an atomic sliding-window test-and-increment in Redis on ``limits``'
    keys, which hands back the window for the headers: one round trip per limited request,
    exact to the unit.

``synced`` (default)
    Each replica reserves small chunks of quota from Redis with one atomic script (grant
    ``min(wanted, limit - used)`` and count it on the shared keys) and admits locally from
    that allowance. A reservation is sized by the key's recent rate over two sync intervals,
    capped at ``lease_fraction`` of the limit, and made ahead of need in the background when
    the key is busy; a quiet key asks Redis when a request arrives (so low-rate keys behave
    like strict mode and busy keys almost never wait on Redis). Every ``sync_interval_ms``
    one pipelined round trip returns allowance left unused for a whole tick or outlived by
    its window. When Redis says the quota is spent, the replica rejects locally until the
    next interval instead of asking again per request.

    Trade-off: replicas never admit more than Redis granted them, so together they never
    exceed the limit (up to the sliding-window approximation itself); the cost is
    under-admission while one replica holds allowance another replica's client could have
    used: at most ``lease_fraction x limit`` units per replica (and about two intervals of
    that replica's own traffic), returned after one idle interval. Headers report the shared
    count as of the last reservation plus the local allowance, so ``r`` can lag what other
    replicas spent since. ``bench/ratelimit_accuracy.py`` (3 processes, 100/minute, 1,000
    requests, round-robin or 80/10/10 skewed) admits exactly 100 in both modes. In process,
    the synced fast path costs a dict lookup and a few attribute updates, where strict mode
    pays one Redis round trip per request (measured in ``bench/RESULTS.md``).

degraded (either mode, Redis refused or timed out)
    Each replica enforces ``limit // replicas`` (at least 1) on an in-process sliding window,
    logs the transition once, reports ``degraded`` for /readyz, and probes Redis in the
    background at most every ``redis_probe_interval`` seconds; a successful probe returns
    to Redis. No request waits on a probe and none fails because Redis is away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from math import ceil, floor, inf
from typing import Any
from urllib.parse import quote

from limits import RateLimitItem

from policies.ratelimit.config import RateLimitConfig
from policies.ratelimit.leases import Lease
from policies.ratelimit.redis_store import RedisClient, RedisCounters, RedisUnavailable, Refund
from policies.ratelimit.window import LocalWindows, Window

logger = logging.getLogger("policies.ratelimit")

Clock = Callable[[], float]


@dataclass(slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until more quota is made available
    retry_after: int  # seconds to wait before retrying; 0 when allowed


def identity(client_id: str, group: str, method: str) -> str:
    """The per-key identity; escaped so that no client id can collide with another key."""
    return "/".join(quote(part, safe="") for part in (client_id, group, method))


def limit_key(item: RateLimitItem, client_id: str, group: str, method: str) -> str:
    """The ``limits`` key one client's requests to one group with one method count on."""
    return item.key_for(identity(client_id, group, method))


class RateLimiter:
    """Shared limits with a local fallback; one per process, shared by its middleware."""

    def __init__(self, config: RateLimitConfig, counters: RedisCounters | None, *,
                 clock: Clock = time.monotonic) -> None:
        self.config = config
        self.counters = counters
        self._clock = clock
        self._interval = config.sync_interval
        self._local = LocalWindows(clock)
        self._leases: dict[str, Lease] = {}
        self._degraded = False
        self._last_probe = -inf
        self._probe_task: asyncio.Task[None] | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._strict_mode = config.mode == "strict"

    @classmethod
    def from_url(cls, config: RateLimitConfig, url: str, *,
                 clock: Clock = time.monotonic) -> RateLimiter:
        counters = RedisCounters.from_url(
            url, key_prefix=config.key_prefix, socket_timeout=config.redis_socket_timeout,
            connect_timeout=config.redis_connect_timeout, deadline=config.deadline,
            max_connections=config.redis_max_connections,
        )
        return cls(config, counters, clock=clock)

    @classmethod
    def from_client(cls, config: RateLimitConfig, client: RedisClient, *,
                    deadline: float | None = None,
                    clock: Clock = time.monotonic) -> RateLimiter:
        """Count on a caller's client (plain, Sentinel-managed or ``RedisCluster``).

        Give it short socket timeouts; ``deadline`` bounds one decision's wait on Redis
        (default: the config's ``deadline``). The client is never closed here.
        """
        counters = RedisCounters(client, key_prefix=config.key_prefix,
                                 deadline=config.deadline if deadline is None else deadline)
        return cls(config, counters, clock=clock)

    @classmethod
    def local(cls, config: RateLimitConfig, *, clock: Clock = time.monotonic) -> RateLimiter:
        """No Redis at all: each replica enforces ``limit // replicas`` in memory, by design
        (so this is not reported as degraded)."""
        return cls(config, None, clock=clock)

    @property
    def degraded(self) -> bool:
        """True while limits are enforced per replica because Redis is unreachable."""
        return self._degraded

    def acquire_nowait(self, key: str, item: RateLimitItem) -> Decision | None:
        """The decision if it needs no Redis round trip (synced or degraded), else ``None``."""
        if self.counters is None:
            return self._share(key, item)
        if self._degraded:
            return self._fallback(key, item)
        if self._strict_mode:
            return None
        lease = self._leases.get(key)
        return self._local_decision(lease, self._clock()) if lease is not None else None

    async def acquire(self, key: str, item: RateLimitItem) -> Decision:
        """Admit one request counted on ``key`` (see ``limit_key``) under ``item``."""
        if self.counters is None:
            return self._share(key, item)
        if not self._degraded:
            try:
                if self._strict_mode:
                    return await self._strict(key, item)
                decision = await self._synced(key, item)
                if decision is not None:
                    return decision
            except RedisUnavailable as exc:
                self._enter_degraded(exc)
        return self._fallback(key, item)

    async def sync(self) -> None:
        """One sync tick: return idle or outdated allowance to Redis, forget quiet keys."""
        if self.counters is None:
            return
        now = self._clock()
        refunds: list[Refund] = []
        for key, lease in list(self._leases.items()):
            for units, bucket in lease.refunds(now, self._interval):
                refunds.append(Refund(key, lease.expiry, units, bucket))
            if lease.idle(now, grace=max(1.0, 10 * self._interval)):
                del self._leases[key]
        if refunds and not self._degraded:
            try:
                await self.counters.refund(refunds)
            except RedisUnavailable as exc:
                self._enter_degraded(exc)

    async def probe(self) -> bool:
        """Ping Redis now; on success leave degraded mode. Returns whether Redis answered."""
        if self.counters is None:
            return False
        # a pooled connection may predate a Redis restart: one failure is not conclusive
        ok = await self.counters.ping() or await self.counters.ping()
        if ok and self._degraded:
            self._leave_degraded()
        return ok

    async def settle(self) -> None:
        """Wait for background reservations and probes in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop the sync loop, hand unused allowance back, close a client we opened."""
        self._closed = True
        if self._sync_task is not None:
            self._sync_task.cancel()
            await asyncio.gather(self._sync_task, return_exceptions=True)
            self._sync_task = None
        await self.settle()
        for lease in self._leases.values():
            lease.retire()
        await self.sync()
        if self.counters is not None:
            await self.counters.aclose()

    # strict and synced paths ------------------------------------------------------------

    async def _strict(self, key: str, item: RateLimitItem) -> Decision:
        assert self.counters is not None  # acquire() answers locally without counters
        allowed, window = await self.counters.hit(key, item.amount, item.get_expiry())
        return _decision(allowed, item.amount, window)

    async def _synced(self, key: str, item: RateLimitItem) -> Decision | None:
        """Admit from the local allowance; ``None`` when Redis went away meanwhile."""
        if self._sync_task is None:
            self._start_sync_loop()
        lease = self._leases.get(key)
        if lease is None:
            max_hold = max(1, floor(item.amount * self.config.lease_fraction))
            lease = self._leases[key] = Lease(key, item.amount, item.get_expiry(), max_hold,
                                              horizon=2 * self._interval)
        while True:
            decision = self._local_decision(lease, self._clock())
            if decision is not None:
                return decision
            if lease.pending is None:
                lease.pending = self._spawn(self._reserve(lease))
            lease.waiting += 1
            try:
                await asyncio.shield(lease.pending)
            finally:
                lease.waiting -= 1
            if self._degraded:
                return None

    def _local_decision(self, lease: Lease, now: float) -> Decision | None:
        """Admit from the allowance, or reject while Redis said "spent"; else ``None``."""
        if lease.take(now):
            left = lease.allowance
            if left <= lease.low_water and lease.pending is None and now >= lease.blocked_until:
                lease.pending = self._spawn(self._reserve(lease))
            reset = lease.reset_at - now
            remaining = lease.shared_remaining + left
            return Decision(True, lease.limit, min(remaining, lease.limit),
                            ceil(reset) if reset > 0 else 0, 0)
        if now < lease.blocked_until:
            lease.last_used = now  # a key being refused is not idle: keep its "spent" state
            wait = ceil(lease.retry_after(now))
            return Decision(False, lease.limit, 0, wait, max(1, wait))
        return None

    async def _reserve(self, lease: Lease) -> None:
        assert self.counters is not None  # leases exist only with counters
        try:
            wanted = lease.wanted()
            granted, window = await self.counters.reserve(
                lease.key, lease.limit, lease.expiry, wanted
            )
            lease.granted(self._clock(), granted, wanted, window, self._interval)
        except RedisUnavailable as exc:
            self._enter_degraded(exc)
        finally:
            lease.pending = None

    def _start_sync_loop(self) -> None:
        if not self._closed:
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_loop())

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.sync()
            except Exception:  # the loop must outlive any one bad tick
                logger.exception("rate-limit sync tick failed")

    # degraded mode ----------------------------------------------------------------------

    def _fallback(self, key: str, item: RateLimitItem) -> Decision:
        self._maybe_probe()
        return self._share(key, item)

    def _share(self, key: str, item: RateLimitItem) -> Decision:
        share = max(1, item.amount // self.config.replicas)
        allowed, window = self._local.acquire(key, share, item.get_expiry())
        return _decision(allowed, share, window)

    def _enter_degraded(self, exc: BaseException) -> None:
        if self._degraded:
            return
        self._degraded = True
        self._last_probe = self._clock()
        self._leases.clear()
        self._local.clear()
        logger.warning(
            "Redis unavailable for rate limits (%s); enforcing limit // %d per replica locally",
            exc, self.config.replicas,
        )

    def _leave_degraded(self) -> None:
        self._degraded = False
        self._leases.clear()
        self._local.clear()
        logger.warning("Redis reachable again; rate limits are shared across replicas again")

    def _maybe_probe(self) -> None:
        now = self._clock()
        if self._probe_task is None and now - self._last_probe >= self.config.redis_probe_interval:
            self._last_probe = now
            self._probe_task = self._spawn(self._background_probe())

    async def _background_probe(self) -> None:
        try:
            await self.probe()
        finally:
            self._probe_task = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _decision(allowed: bool, limit: int, window: Window) -> Decision:
    if not allowed:
        retry = max(1, ceil(window.retry_after(limit)))
        return Decision(False, limit, 0, retry, retry)
    return Decision(True, limit, window.remaining(limit), ceil(window.reset_after()), 0)
