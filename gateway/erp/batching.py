"""Coalescing concurrent reads: every caller that asks within one event-loop turn joins
one upstream call for the union of their keys (a stale re-read of 34 SKUs is one fetch,
not 34)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

V = TypeVar("V")


class _Batch(Generic[V]):
    __slots__ = ("future", "keys")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.keys: dict[str, None] = {}
        self.future: asyncio.Future[dict[str, V]] = loop.create_future()


class Batcher(Generic[V]):
    """``load(keys)`` answers from one ``fetch`` per loop turn and at most ``max_keys``."""

    def __init__(self, fetch: Callable[[list[str]], Awaitable[dict[str, V]]], *,
                 max_keys: int = 500) -> None:
        self._fetch = fetch
        self._max = max_keys
        self._pending: _Batch[V] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.fetches = 0

    async def load(self, keys: Iterable[str]) -> dict[str, V]:
        wanted = list(dict.fromkeys(keys))
        batch = self._pending
        if batch is None or len(batch.keys) + len(wanted) > self._max:
            loop = asyncio.get_running_loop()
            batch = self._pending = _Batch(loop)
            # the batch closes once every caller already scheduled in this turn has joined
            loop.call_soon(self._flush, batch)
        batch.keys.update(dict.fromkeys(wanted))
        # shielded: one caller going away must not cancel the fetch the others wait on
        found = await asyncio.shield(batch.future)
        return {key: found[key] for key in wanted if key in found}

    def _flush(self, batch: _Batch[V]) -> None:
        if self._pending is batch:
            self._pending = None
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: _Batch[V]) -> None:
        self.fetches += 1
        try:
            found = await self._fetch(list(batch.keys))
        except asyncio.CancelledError:
            batch.future.cancel()
            raise
        except Exception as exc:  # every joined caller gets the failure
            if not batch.future.done():
                batch.future.set_exception(exc)
                batch.future.exception()  # retrieved: all callers may have gone
            return
        if not batch.future.done():
            batch.future.set_result(found)
