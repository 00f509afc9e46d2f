"""Failed ``/oauth/token`` attempts, limited per client id and per source address.

Checked before any secret is hashed: a caller over either limit is refused with a 429
without costing a scrypt, so a flood of wrong secrets spends at most ``limit`` checks per
window and cannot queue ahead of other clients' token requests. Counts live on the
sliding-window counters of ``policies.ratelimit`` (``limits``' keys in Redis when the
gateway has Redis, shared by replicas; in-process otherwise, and while Redis is away).

Only failures count, but attempts still being checked count too: of 64 concurrent wrong
secrets for one client id, only the first ``limit`` reach scrypt (per replica). Client ids
are keyed by their SHA-256, so an unknown id is counted and refused exactly like a known
one and any id fits in a key.

Admitted checks also queue per key: one at a time per client id, and per source address at
most all but one of the check threads, so a flood admitted up to its limits never holds
every thread and another client's request starts its check at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from math import ceil

from limits import RateLimitItem
from starlette.types import Scope

from policies.auth.config import TokenAttemptsConfig
from policies.ratelimit.config import parse_limit
from policies.ratelimit.redis_store import RedisCounters, RedisUnavailable
from policies.ratelimit.window import LocalWindows, Window

logger = logging.getLogger(__name__)

# after Redis fails, count locally this long before asking it again
_REDIS_RETRY_SECONDS = 5.0


def client_address(scope: Scope) -> str:
    """The address a request came from, as the server saw it (the ASGI ``client``)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why an attempt was refused and when to come back."""

    what: str  # "client" or "address"
    limit: RateLimitItem
    retry_after: int


@dataclass(frozen=True, slots=True)
class _Key:
    what: str
    key: str
    item: RateLimitItem
    # checks of this key running at once
    concurrency: int


class FailedAttempts:
    """Admission of token requests by their failure counts (see the module docstring)."""

    def __init__(self, config: TokenAttemptsConfig, counters: RedisCounters | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._per_client = parse_limit(config.per_client)
        self._per_address = parse_limit(config.per_address)
        self._counters = counters
        self._clock = clock
        self._local = LocalWindows(clock)
        self._checking: Counter[str] = Counter()
        self._address_concurrency = max(1, config.max_concurrent_checks - 1)
        self._queues: dict[str, asyncio.Semaphore] = {}
        self._redis_retry_at = 0.0

    def keys(self, client_id: str | None, address: str) -> list[_Key]:
        """The counters one attempt is checked and counted on."""
        keys = [_Key("address", self._per_address.key_for("token", "address", _digest(address)),
                     self._per_address, self._address_concurrency)]
        if client_id is not None:
            keys.append(_Key("client",
                             self._per_client.key_for("token", "client", _digest(client_id)),
                             self._per_client, 1))
        return keys

    @contextmanager
    def checking(self, keys: list[_Key]) -> Iterator[list[int]]:
        """Hold a place among the attempts being checked; yields each key's place (0 first)."""
        places = []
        for key in keys:
            places.append(self._checking[key.key])
            self._checking[key.key] += 1
        try:
            yield places
        finally:
            for key in keys:
                self._checking[key.key] -= 1
                if not self._checking[key.key]:
                    del self._checking[key.key]
                    self._queues.pop(key.key, None)

    @asynccontextmanager
    async def queued(self, keys: list[_Key]) -> AsyncIterator[None]:
        """Wait for this attempt's turn on every key (inside ``checking``, keys in order)."""
        taken: list[asyncio.Semaphore] = []
        try:
            for key in keys:
                queue = self._queues.get(key.key)
                if queue is None:
                    queue = self._queues[key.key] = asyncio.Semaphore(key.concurrency)
                await queue.acquire()
                taken.append(queue)
            yield
        finally:
            for queue in reversed(taken):
                queue.release()

    async def admit(self, keys: list[_Key], places: list[int]) -> Throttled | None:
        """None if the attempt may be checked; else the limit it is over."""
        for key, place in zip(keys, places, strict=True):
            window = await self._window(key)
            limit = key.item.amount
            if window.used() + place >= limit:
                # over by attempts still being checked only: they settle within a second
                wait = window.retry_after(limit)
                return Throttled(key.what, key.item, max(1, ceil(wait)))
        return None

    async def failed(self, keys: list[_Key]) -> None:
        """Count one failed attempt on every key."""
        for key in keys:
            expiry = key.item.get_expiry()
            if self._use_redis():
                assert self._counters is not None
                try:
                    await self._counters.hit(key.key, key.item.amount, expiry)
                    continue
                except RedisUnavailable as exc:
                    self._redis_failed(exc)
            self._local.acquire(key.key, key.item.amount, expiry)

    async def _window(self, key: _Key) -> Window:
        expiry = key.item.get_expiry()
        if self._use_redis():
            assert self._counters is not None
            try:
                return await self._counters.window(key.key, expiry)
            except RedisUnavailable as exc:
                self._redis_failed(exc)
        # cost 0: reads the window without counting
        return self._local.acquire(key.key, key.item.amount, expiry, cost=0)[1]

    def _use_redis(self) -> bool:
        return self._counters is not None and self._clock() >= self._redis_retry_at

    def _redis_failed(self, exc: RedisUnavailable) -> None:
        if self._redis_retry_at <= self._clock():
            logger.warning("Redis unavailable for token attempt counts (%s); counting on this "
                           "replica for %.0f s", exc, _REDIS_RETRY_SECONDS)
        self._redis_retry_at = self._clock() + _REDIS_RETRY_SECONDS


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
