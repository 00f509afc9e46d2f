"""Single-flight per key on this replica: one outstanding fill, any number of waiters.

A caller ``claim``s the keys it needs: the ones nobody is filling become its to
fill (``led``), the rest come back as the futures of fills already in flight
(``joined``). The filler must ``resolve`` (or ``abandon``) every future it led.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def __contains__(self, key: K) -> bool:
        return key in self._inflight

    def __len__(self) -> int:
        return len(self._inflight)

    def claim(
        self, keys: Iterable[K]
    ) -> tuple[dict[K, asyncio.Future[V]], dict[K, asyncio.Future[V]]]:
        """Split ``keys`` into (led, joined) futures."""
        loop = asyncio.get_running_loop()
        led: dict[K, asyncio.Future[V]] = {}
        joined: dict[K, asyncio.Future[V]] = {}
        for key in keys:
            existing = self._inflight.get(key)
            if existing is not None:
                joined[key] = existing
            else:
                future: asyncio.Future[V] = loop.create_future()
                self._inflight[key] = led[key] = future
        return led, joined

    def resolve(self, key: K, future: asyncio.Future[V], value: V) -> None:
        """Hand ``value`` to every waiter of the fill ``future`` (as led for ``key``)."""
        self._release(key, future)
        if not future.done():
            future.set_result(value)

    def abandon(self, key: K, future: asyncio.Future[V]) -> None:
        """Give up a fill (its waiters see CancelledError); used when the filler dies."""
        self._release(key, future)
        if not future.done():
            future.cancel()

    def abandon_all(self) -> None:
        """Give up every fill in flight (shutdown: fillers cancelled before they ran)."""
        inflight, self._inflight = self._inflight, {}
        for future in inflight.values():
            if not future.done():
                future.cancel()

    def _release(self, key: K, future: asyncio.Future[V]) -> None:
        if self._inflight.get(key) is future:
            del self._inflight[key]
