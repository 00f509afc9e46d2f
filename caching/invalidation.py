"""Invalidation fan-out over Redis pub/sub: the message format and the subscriber task.

Channels by topology:

- one server or Sentinel: ``PUBLISH``/``SUBSCRIBE`` on the primary (the Sentinel-managed
  connection follows a promotion);
- Redis Cluster 7+: sharded pub/sub, ``SPUBLISH``/``SSUBSCRIBE``; the channel lives on the
  shard that owns its slot, so a message crosses no cluster bus and a failover of that
  shard moves the subscription to the promoted replica;
- Redis Cluster 6.2 (no sharded pub/sub): plain ``PUBLISH``, which the cluster bus
  broadcasts to every node, with the subscription on any node. Costs bus traffic per
  message on every node; invalidations are rare, so this is the documented alternative.

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
from typing import cast

from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterPubSub, RedisCluster

from caching.types import RedisClient

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


async def supports_sharded_pubsub(redis: RedisClient, channel: str) -> bool:
    """Whether to use sharded pub/sub: on Cluster, when the node that owns ``channel``'s
    slot runs Redis 7 or later (``SPUBLISH``). Raises the client's error when it cannot ask.
    """
    if not isinstance(redis, RedisCluster):
        return False
    node = redis.get_node_from_key(channel)
    info = await redis.info("server", target_nodes=node)
    version = str(info.get("redis_version", "0"))
    return int(version.split(".")[0]) >= 7


class InvalidationSubscriber:
    def __init__(
        self,
        redis: RedisClient,
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
        # decided before each subscription on Cluster (see supports_sharded_pubsub)
        self.sharded = False
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
                self.sharded = await supports_sharded_pubsub(self._redis, self._channel)
                if self.sharded:
                    await pubsub.ssubscribe(self._channel)
                else:
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
            await self._follow_failover()
            backoff = min(backoff * 2, self._max_backoff)

    async def _follow_failover(self) -> None:
        """On Cluster, touch the channel's slot so the client's slot map follows a failover.

        A subscription picks its node from the cached slot map; a command on that slot
        that fails makes ``RedisCluster`` reload the map, and one that succeeds proves it.
        """
        if isinstance(self._redis, RedisCluster):
            with contextlib.suppress(Exception):
                await self._redis.exists(self._channel)

    async def _next(self, pubsub: PubSub) -> dict[str, object] | None:
        if self.sharded and isinstance(pubsub, ClusterPubSub):
            message = await pubsub.get_sharded_message(timeout=self._read_timeout)
        else:
            message = await pubsub.get_message(timeout=self._read_timeout)
        return cast("dict[str, object] | None", message)

    async def _listen(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            message = await self._next(pubsub)
            if message is None:
                if loop.time() - started < self._read_timeout / 2:
                    await asyncio.sleep(self._first_backoff)  # never spin on an idle socket
                continue
            kind = message["type"]
            if isinstance(kind, bytes):
                kind = kind.decode()
            if kind in ("subscribe", "ssubscribe"):
                self.connects += 1
                self._subscribed.set()
                self._on_connect()
            elif kind in ("message", "smessage"):
                data = message["data"]
                if not isinstance(data, bytes | str):
                    continue
                decoded = decode_message(data)
                if decoded is not None:
                    self._on_message(decoded)
