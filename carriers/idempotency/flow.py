"""Runs a label purchase at most once per (caller key, Idempotency-Key).

The record states, what each failure turns into and the crash-recovery decision are
described in ``carriers.idempotency.records``; this module is the state machine over a store.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeGuard

from carriers.base import (
    CapabilityMissing,
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    PurchaseUndone,
)
from carriers.breaker import BreakerOpen
from carriers.idempotency.records import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    IdempotencyRecord,
    IdempotencyStore,
    IdempotencyUnresolved,
    RecordState,
    StoredError,
    new_label_id,
)
from carriers.models import Label
from carriers.tenancy import LabelOwner


class PurchaseKind(StrEnum):
    PURCHASED = "purchased"
    REPLAYED = "replayed"
    # found at the carrier after a crash or an unknown outcome
    RECOVERED = "recovered"


@dataclass(frozen=True)
class PurchaseOutcome:
    label: Label
    kind: PurchaseKind


# buy(label_id, carrier_key) -> Label; lookup(label_id) -> the label bought under it, or None
Buy = Callable[[str, str | None], Awaitable[Label]]
Lookup = Callable[[str], Awaitable[Label | None]]


class IdempotentPurchases:
    def __init__(self, store: IdempotencyStore, *, ttl_seconds: float = 72 * 3600,
                 lease_seconds: float = 60, wait_seconds: float = 10,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._ttl = ttl_seconds
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._clock = clock
        self._events: dict[tuple[str, str], asyncio.Event] = {}
        self._waiting: Counter[tuple[str, str]] = Counter()
        self._tasks: set[asyncio.Task[PurchaseOutcome]] = set()

    async def run(self, client_id: str, key: str, body_fingerprint: str, buy: Buy,
                  lookup: Lookup | None, *, warehouse: str | None = None) -> PurchaseOutcome:
        """Buy, or return / raise what the first purchase with this key ended in.

        ``client_id`` is the caller's principal key: records and the label's owner are kept
        under it, so callers never see each other's records.
        """
        give_up = asyncio.get_running_loop().time() + self._wait
        while True:
            now = self._clock()
            fresh = IdempotencyRecord(
                client_id=client_id, key=key, fingerprint=body_fingerprint,
                state=RecordState.IN_PROGRESS, label_id=new_label_id(),
                token=secrets.token_hex(16), created_at=now, updated_at=now,
                expires_at=now + self._ttl, warehouse=warehouse,
                carrier_key=str(uuid.uuid4()))
            record, won = await self.store.claim(fresh)
            if won:
                return await self._own(record, buy, None)
            outcome = await self._follow(record, body_fingerprint, buy, lookup, give_up)
            if outcome is not None:
                return outcome
            # the record expired while we looked at it: claim again

    def waiters(self) -> int:
        """Duplicates in this process currently waiting for another caller's purchase."""
        return sum(self._waiting.values())

    async def drain(self) -> None:
        """Wait for purchases whose callers went away (before closing the carriers)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))

    async def _follow(self, first: IdempotencyRecord, body_fingerprint: str, buy: Buy,
                      lookup: Lookup | None, give_up: float) -> PurchaseOutcome | None:
        loop = asyncio.get_running_loop()
        delay = 0.02
        watched: str | None = None  # claim token of the attempt this caller waited for
        record: IdempotencyRecord | None = first
        while record is not None:
            if record.fingerprint != body_fingerprint:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used with a different request body")
            state = record.state
            if state is RecordState.COMPLETED and record.label is not None:
                label = await self.store.get_label(record.label_id) or record.label
                return PurchaseOutcome(label, PurchaseKind.REPLAYED)
            if state is RecordState.FAILED and record.error is not None:
                raise record.error.exception()
            if state is RecordState.RETRYABLE:
                if record.token == watched and record.error is not None:
                    raise record.error.exception()  # the attempt we waited for failed
                outcome = await self._take_over(record, buy, None)  # nothing bought: no lookup
            elif state is RecordState.UNKNOWN or self._lease_expired(record):
                if lookup is None:
                    if state is RecordState.IN_PROGRESS:
                        await self._settle_unknown(record, None)
                    raise IdempotencyUnresolved(record.label_id)
                outcome = await self._take_over(record, buy, lookup)
            else:
                remaining = give_up - loop.time()
                if remaining <= 0:
                    lease_left = record.updated_at + self._lease - self._clock()
                    raise IdempotencyInProgress(max(1, min(10, math.ceil(lease_left))))
                watched = record.token
                record = await self._changed(record, min(delay, remaining))
                delay = min(delay * 2, 0.5)
                continue
            if outcome is not None:
                return outcome
            # another caller took it over first: follow theirs
            record = await self.store.get(record.client_id, record.key)
        return None

    async def _changed(self, record: IdempotencyRecord,
                       timeout_seconds: float) -> IdempotencyRecord | None:
        """The record after an in-process notification or ``timeout_seconds``, whichever first."""
        slot = (record.client_id, record.key)
        # registered before reading, so a completion in between is not missed
        event = self._events.setdefault(slot, asyncio.Event())
        self._waiting[slot] += 1
        try:
            latest = await self.store.get(*slot)
            if latest != record:
                return latest
            try:
                async with asyncio.timeout(timeout_seconds):
                    await event.wait()
            except TimeoutError:
                pass
            return await self.store.get(*slot)
        finally:
            self._waiting[slot] -= 1
            if not self._waiting[slot]:
                del self._waiting[slot]
                if self._events.get(slot) is event:
                    del self._events[slot]

    async def _take_over(self, record: IdempotencyRecord, buy: Buy,
                         lookup: Lookup | None) -> PurchaseOutcome | None:
        taken = record.model_copy(update={
            "state": RecordState.IN_PROGRESS, "token": secrets.token_hex(16),
            "error": None, "updated_at": self._clock()})
        if not await self.store.replace(taken, expected_token=record.token):
            return None
        return await self._own(taken, buy, lookup)

    async def _own(self, record: IdempotencyRecord, buy: Buy,
                   lookup: Lookup | None) -> PurchaseOutcome:
        # shielded: a caller that goes away must not leave the record in_progress
        task = asyncio.ensure_future(self._purchase(record, buy, lookup))
        self._tasks.add(task)
        task.add_done_callback(_forget(self._tasks))
        return await asyncio.shield(task)

    async def _purchase(self, record: IdempotencyRecord, buy: Buy,
                        lookup: Lookup | None) -> PurchaseOutcome:
        if lookup is not None:
            found = await self._ask(record, lookup)
            if found is not None:
                return await self._complete(record, found, PurchaseKind.RECOVERED)
        try:
            label = await buy(record.label_id, record.carrier_key)
        except CarrierRejected as exc:
            await self._settle(record, RecordState.FAILED, StoredError.of(exc))
            raise
        except CapabilityMissing as exc:
            await self._settle(record, RecordState.RETRYABLE, StoredError.of(exc))
            raise
        except BaseException as exc:
            if _nothing_bought(exc):
                await self._settle(record, RecordState.RETRYABLE, StoredError.of(exc))
            else:
                await self._settle_unknown(record, exc)
            raise
        if label.id != record.label_id:
            label = label.model_copy(update={"id": record.label_id})
        return await self._complete(record, label, PurchaseKind.PURCHASED)

    async def _ask(self, record: IdempotencyRecord, lookup: Lookup) -> Label | None:
        try:
            return await lookup(record.label_id)
        except CapabilityMissing:
            await self._settle_unknown(record, None)
            raise IdempotencyUnresolved(record.label_id) from None
        except BaseException as exc:
            # could not ask now (carrier down): stay unknown, the next retry asks again
            await self._settle_unknown(record, exc)
            raise

    async def _complete(self, record: IdempotencyRecord, label: Label,
                        kind: PurchaseKind) -> PurchaseOutcome:
        await self.store.save_label(label, LabelOwner(record.client_id, record.warehouse))
        await self._settle(record.model_copy(update={"label": label}), RecordState.COMPLETED,
                           None)
        return PurchaseOutcome(label, kind)

    async def _settle_unknown(self, record: IdempotencyRecord, exc: BaseException | None) -> None:
        error = StoredError.of(exc) if isinstance(exc, CarrierError) else None
        await self._settle(record, RecordState.UNKNOWN, error)

    async def _settle(self, record: IdempotencyRecord, state: RecordState,
                      error: StoredError | None) -> None:
        """Write the outcome (same token: followers know it is the attempt they watched)."""
        settled = record.model_copy(update={
            "state": state, "error": error, "updated_at": self._clock()})
        await self.store.replace(settled, expected_token=record.token)
        event = self._events.pop((record.client_id, record.key), None)
        if event is not None:
            event.set()

    def _lease_expired(self, record: IdempotencyRecord) -> bool:
        return self._clock() - record.updated_at >= self._lease


def _nothing_bought(exc: BaseException) -> TypeGuard[CarrierUnavailable]:
    """Unavailability that proves the carrier did not sell a label."""
    if isinstance(exc, BreakerOpen | PurchaseUndone):
        return True
    return (isinstance(exc, CarrierUnavailable) and not isinstance(exc, CarrierTimeout)
            and exc.status_code in (429, 503))


def _forget(tasks: set[asyncio.Task[PurchaseOutcome]]) -> Callable[
        [asyncio.Task[PurchaseOutcome]], None]:
    def done(task: asyncio.Task[PurchaseOutcome]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the shielded caller may be gone
    return done
