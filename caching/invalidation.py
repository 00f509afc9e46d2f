"""Invalidation fan-out over Redis pub/sub: the message format and the subscriber task.

Pub/sub is at-most-once: whatever was published while a replica was not
subscribed is lost. The subscriber therefore calls ``on_connect`` on every
(re)subscription, including the ones redis-py performs by itself after a
reconnect (each shows up as a ``subscribe`` confirmation), and its owner flushes
L1 there. When Redis is away it retries with capped exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InvalidationMessage:
    origin: str  # the publishing replica, which has already applied it
    tags: tuple[str, ...] = ()
    purge: bool = False


def encode_message(message: InvalidationMessage) -> bytes:
    body = {"origin": message.origin, "tags": list(message.tags), "purge": message.purge}
    return json.dumps(body, separators=(",", ":")).encode()


def decode_message(data: bytes | str) -> InvalidationMessage | None:
    """The message, or ``None`` for anything that is not one (logged, ignored)."""
    try:
        body = json.loads(data)
        origin, tags, purge = body["origin"], body.get("tags", []), body.get("purge", False)
        if not isinstance(origin, str) or not isinstance(purge, bool):
            raise ValueError("bad field types")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("tags must be a list of strings")
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring malformed invalidation message %r: %s", data[:200], exc)
        return None
    return InvalidationMessage(origin=origin, tags=tuple(tags), purge=purge)


class InvalidationSubscriber:
    def __init__(
        self,
        redis: Redis,
        channel: str,
        *,
        on_message: Callable[[InvalidationMessage], None],
        on_connect: Callable[[], None],
        read_timeout: float = 1.0,
        first_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self._redis = redis
        self._channel = channel
        self._on_message = on_message
        self._on_connect = on_connect
        self._read_timeout = read_timeout
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.connects = 0  # subscriptions confirmed, first one included

    @property
    def connected(self) -> bool:
        return self._subscribed.is_set()

    async def start(self, wait: float) -> None:
        """Start listening; wait up to ``wait`` seconds for the first subscription."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name=f"cache-invalidation:{self._channel}")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._subscribed.wait()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        backoff = self._first_backoff
        while True:
            connects_before = self.connects
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                await self._listen(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broken listener must come back, whatever broke it
                if self.connects != connects_before:
                    log.warning("invalidation subscriber lost Redis, retrying: %r", exc)
                else:
                    log.debug("invalidation subscriber still cannot subscribe: %r", exc)
            finally:
                self._subscribed.clear()
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated upstream
            if self.connects != connects_before:
                backoff = self._first_backoff  # it was subscribed in between: start over
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _listen(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            message = await pubsub.get_message(timeout=self._read_timeout)
            if message is None:
                if loop.time() - started < self._read_timeout / 2:
                    await asyncio.sleep(self._first_backoff)  # never spin on an idle socket
                continue
            kind = message["type"]
            if isinstance(kind, bytes):
                kind = kind.decode()
            if kind == "subscribe":
                self.connects += 1
                self._subscribed.set()
                self._on_connect()
            elif kind == "message":
                decoded = decode_message(message["data"])
                if decoded is not None:
                    self._on_message(decoded)
