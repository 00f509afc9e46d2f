"""A worker's once-a-second background work: Redis recovery probe and metric feeds.

Components notice Redis is gone on their own (a request's call fails), but a worker that
gets no traffic would otherwise keep saying "L2 unavailable" until a request reached it.
While anything runs degraded, the heartbeat pings Redis itself and, when Redis answers,
tells the cache and the rate limiter at once; "Redis lost" and "Redis back" are logged
once per transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Heartbeat"]

log = logging.getLogger("gateway.redis")


class Heartbeat:
    def __init__(self, *, interval: float = 1.0,
                 degraded: Callable[[], dict[str, bool]],
                 ping: Callable[[], Awaitable[Any]] | None,
                 recovered: Callable[[], Awaitable[None]],
                 tick: Callable[[], None] = lambda: None,
                 on_back: Callable[[str], None] = lambda component: None,
                 ping_timeout: float = 1.0) -> None:
        self.interval = interval
        self._degraded = degraded
        self._ping = ping
        self._recovered = recovered
        self._tick = tick
        self._on_back = on_back
        self._ping_timeout = ping_timeout
        self._task: asyncio.Task[None] | None = None
        self._was_degraded: set[str] = set()
        self.probes = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="gateway-heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.beat()
            except Exception:  # the heartbeat must outlive any one failure
                log.exception("heartbeat failed")

    async def beat(self) -> None:
        """One round: probe Redis if something is degraded, then feed the metrics."""
        degraded = {name for name, down in self._degraded().items() if down}
        was = self._was_degraded | degraded
        for name in degraded - self._was_degraded:
            log.warning("Redis lost: %s runs without it", name,
                        extra={"event": "redis_lost", "component": name})
        if degraded and self._ping is not None:
            self.probes += 1
            try:
                async with asyncio.timeout(self._ping_timeout):
                    await self._ping()
            except Exception as exc:  # still down: say nothing new
                log.debug("Redis probe failed: %r", exc)
            else:
                await self._recovered()
                degraded = {name for name, down in self._degraded().items() if down}
        for name in was - degraded:
            log.info("Redis back: %s uses it again", name,
                     extra={"event": "redis_back", "component": name})
            self._on_back(name)
        self._was_degraded = degraded
        self._tick()
