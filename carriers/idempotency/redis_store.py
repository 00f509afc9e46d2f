"""The shared label store on Redis, for several replicas.

Keys::

    {prefix}idem:{sha256(client id NUL key)}   the record as JSON, TTL = record expiry
    {prefix}label:{label id}                    the label and its owner as JSON,
                                                TTL = label_ttl_seconds

A label value is ``{"owner": …, "warehouse": …, "label": {…}}``; a value written before
owners were kept is the bare label JSON, read as a label without an owner.

Each operation touches one key (no hash tags needed, records spread over Redis Cluster's
slots): the claim is ``SET NX PX``; updates and releases are compare-and-swap on the
record's claim token in one single-key Lua script; voiding a label is a WATCH/MULTI
read-modify-write of one key (a one-slot transaction on Cluster).

Durability across a failover: Redis replicates asynchronously, so a write the primary
acknowledged can be lost if the primary dies before a replica has it. With
``require_replicas(n)`` every write is followed, on the same connection, by
``WAIT n timeout``: once it returns ``n``, a promoted replica holds the record. A short
count is logged, never raised (the label is bought either way). Covered: claims, updates
and releases of records (a completed record carries its label, so a replay after a
failover still answers). Not covered: the label value and its voided flag (written inside
MULTI, where WAIT does not block), and Redis Cluster, whose client cannot pin ``WAIT`` to
the writing connection.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import WatchError

from carriers.idempotency.records import IdempotencyRecord, StoredLabel
from carriers.models import Label
from carriers.tenancy import LabelOwner

log = logging.getLogger(__name__)

# KEYS[1] record; ARGV[1] expected token; ARGV[2] new JSON, or "" to delete
_COMPARE_AND_SWAP = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, record = pcall(cjson.decode, current)
if not ok or record['token'] ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
end
return 1
"""


class RedisIdempotencyStore:
    def __init__(self, redis: Redis, *, prefix: str = "",
                 label_ttl_seconds: float = 120 * 86400,
                 clock: Callable[[], float] = time.time, owns_client: bool = False) -> None:
        self.redis = redis
        self._prefix = prefix
        self._label_ttl = max(1, int(label_ttl_seconds))
        self._clock = clock
        self._owns_client = owns_client
        self._script = redis.register_script(_COMPARE_AND_SWAP)
        # on Cluster, EVAL: EVALSHA's fallback (SCRIPT LOAD to every master) fails while any
        # master is lost, even for keys whose own master is fine
        self._eval = isinstance(redis, RedisCluster)
        self._acks = 0
        self._ack_timeout_ms = 0

    def require_replicas(self, count: int, timeout_ms: int) -> None:
        """Follow every write with ``WAIT count timeout_ms`` (one server or Sentinel)."""
        self._acks = 0 if isinstance(self.redis, RedisCluster) else count
        self._ack_timeout_ms = timeout_ms

    def _cas(self, redis: Any, key: str, token: str, body: str) -> Awaitable[Any]:
        if self._eval:
            return redis.eval(_COMPARE_AND_SWAP, 1, key, token, body)  # type: ignore[no-any-return]
        return self._script(keys=[key], args=[token, body], client=redis)

    async def _write(self, command: Callable[[Any], Awaitable[Any]]) -> Any:
        """Run one write on ``self.redis``, or with ``WAIT`` on the same pipelined connection."""
        if not self._acks:
            return await command(self.redis)
        pipe: Pipeline
        async with self.redis.pipeline(transaction=False) as pipe:
            await command(pipe)  # only queues (a script call must be awaited to queue)
            pipe.execute_command("WAIT", self._acks, self._ack_timeout_ms)
            reply, acked = await pipe.execute()
        if int(acked) < self._acks:
            log.warning("label store write acknowledged by %s of %d replicas within %d ms",
                        acked, self._acks, self._ack_timeout_ms)
        return reply

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 50,
                 **options: Any) -> RedisIdempotencyStore:
        """A store with its own client, closed by ``aclose``.

        The pool blocks (up to 5 s) instead of failing when a burst of duplicates
        outnumbers its connections; a client passed in should be built the same way.
        """
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=5)
        return cls(Redis.from_pool(pool),
                   owns_client=True, **options)

    async def claim(self, record: IdempotencyRecord) -> tuple[IdempotencyRecord, bool]:
        key = self._record_key(record.client_id, record.key)
        while True:
            ttl_ms = max(1, int((record.expires_at - self._clock()) * 1000))
            claim = functools.partial(_set_new, key, record.model_dump_json(), ttl_ms)
            if await self._write(claim):
                return record, True
            stored = await self.get(record.client_id, record.key)
            if stored is not None:
                return stored, False
            # expired between SET and GET: claim again

    async def get(self, client_id: str, key: str) -> IdempotencyRecord | None:
        raw = await self.redis.get(self._record_key(client_id, key))
        if raw is None:
            return None
        record = IdempotencyRecord.model_validate_json(raw)
        if (record.client_id, record.key) != (client_id, key):  # a digest collision
            raise RuntimeError("idempotency key digest collision")
        return record

    async def replace(self, record: IdempotencyRecord, *, expected_token: str) -> bool:
        key = self._record_key(record.client_id, record.key)
        body = record.model_dump_json()
        done = await self._write(
            lambda r: self._cas(r, key, expected_token, body))
        return bool(done)

    async def release(self, client_id: str, key: str, *, expected_token: str) -> bool:
        name = self._record_key(client_id, key)
        done = await self._write(
            lambda r: self._cas(r, name, expected_token, ""))
        return bool(done)

    async def save_label(self, label: Label, owner: LabelOwner | None = None) -> None:
        key = self._label_key(label.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    # a label saved again (a recovered purchase) keeps the owner it had
                    kept = _decode_label(raw).owner if raw is not None else None
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    pipe.set(key, _encode_label(label, kept or owner), ex=self._label_ttl)
                    await pipe.execute()
                    return
                except WatchError:
                    continue

    async def get_label(self, label_id: str) -> Label | None:
        stored = await self.get_stored_label(label_id)
        return None if stored is None else stored.label

    async def get_stored_label(self, label_id: str) -> StoredLabel | None:
        raw = await self.redis.get(self._label_key(label_id))
        return None if raw is None else _decode_label(raw)

    async def mark_voided(self, label_id: str) -> Label | None:
        key = self._label_key(label_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    stored = _decode_label(raw)
                    voided = stored.label.model_copy(update={"voided": True})
                    pipe.multi()  # type: ignore[no-untyped-call]  # untyped in redis-py
                    pipe.set(key, _encode_label(voided, stored.owner), keepttl=True)
                    await pipe.execute()
                    return voided
                except WatchError:
                    continue

    async def aclose(self) -> None:
        if self._owns_client:
            await self.redis.aclose()

    def _record_key(self, client_id: str, key: str) -> str:
        digest = hashlib.sha256(f"{client_id}\x00{key}".encode()).hexdigest()
        return f"{self._prefix}idem:{digest}"

    def _label_key(self, label_id: str) -> str:
        return f"{self._prefix}label:{label_id}"


def _encode_label(label: Label, owner: LabelOwner | None) -> str:
    return json.dumps({"owner": owner.key if owner else None,
                       "warehouse": owner.warehouse if owner else None,
                       "label": label.model_dump(mode="json")}, separators=(",", ":"))


def _decode_label(raw: bytes | str) -> StoredLabel:
    data = json.loads(raw)
    if "label" not in data:  # written before owners were kept: the bare label
        return StoredLabel(Label.model_validate(data), None)
    owner = data.get("owner")
    return StoredLabel(Label.model_validate(data["label"]),
                       LabelOwner(owner, data.get("warehouse")) if owner is not None else None)


def _set_new(key: str, body: str, ttl_ms: int, redis: Any) -> Awaitable[Any]:
    return redis.set(key, body, nx=True, px=ttl_ms)  # type: ignore[no-any-return]
