"""Order idempotency records, kept in the label records' store (``IdempotencyStore``).

The store already gives what orders need: a claim that only one request per (owner, key)
wins, compare-and-swap updates on a claim token, expiry, SQLite or Redis. Orders compose
it rather than copy it: the record's key is ``order:`` + the Idempotency-Key (a key
used for a label and an order never collides), its ``label_id`` field holds the ERP's
order id once the order exists, and its states mean:

- ``in_progress``: the claimant is checking and creating the order (lease: ``lease_seconds``);
- ``completed``: the order exists; a retry reads it from the ERP by the stored id;
- ``unknown``: the ERP call failed in a way that may have created the order; the next
  retry takes the record over and looks the order up by the channel's reference.

A refusal (oversold, price mismatch, the ERP said no) deletes the record: nothing was
created, so the same key may be sent again once the channel fixed what was refused.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from carriers.idempotency import IdempotencyRecord, IdempotencyStore, RecordState

# the id an order record carries until the ERP has named the order
PENDING = "pending"


@dataclass(frozen=True, slots=True)
class Claim:
    record: IdempotencyRecord
    won: bool


class OrderRecords:
    def __init__(self, store: IdempotencyStore, *, ttl_seconds: float, lease_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._ttl = ttl_seconds
        self.lease = lease_seconds
        self._clock = clock

    @staticmethod
    def record_key(idempotency_key: str) -> str:
        return "order:" + idempotency_key

    async def claim(self, owner: str, idempotency_key: str, fingerprint: str) -> Claim:
        now = self._clock()
        fresh = IdempotencyRecord(
            client_id=owner, key=self.record_key(idempotency_key), fingerprint=fingerprint,
            state=RecordState.IN_PROGRESS, label_id=PENDING, token=secrets.token_hex(16),
            created_at=now, updated_at=now, expires_at=now + self._ttl)
        record, won = await self.store.claim(fresh)
        return Claim(record, won)

    async def get(self, owner: str, idempotency_key: str) -> IdempotencyRecord | None:
        return await self.store.get(owner, self.record_key(idempotency_key))

    def lease_expired(self, record: IdempotencyRecord) -> bool:
        return self._clock() - record.updated_at >= self.lease

    async def take_over(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """The record under a new claim token, or None when another caller took it first."""
        taken = record.model_copy(update={
            "state": RecordState.IN_PROGRESS, "token": secrets.token_hex(16),
            "updated_at": self._clock()})
        return taken if await self.store.replace(taken, expected_token=record.token) else None

    async def complete(self, record: IdempotencyRecord, order_id: str) -> None:
        await self._settle(record, RecordState.COMPLETED, order_id)

    async def unknown(self, record: IdempotencyRecord) -> None:
        await self._settle(record, RecordState.UNKNOWN, record.label_id)

    async def drop(self, record: IdempotencyRecord) -> None:
        await self.store.release(record.client_id, record.key, expected_token=record.token)

    async def _settle(self, record: IdempotencyRecord, state: RecordState,
                      order_id: str) -> None:
        settled = record.model_copy(update={
            "state": state, "label_id": order_id, "updated_at": self._clock()})
        await self.store.replace(settled, expected_token=record.token)
