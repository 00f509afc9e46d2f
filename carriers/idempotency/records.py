"""Label idempotency: one purchase per (caller, Idempotency-Key), whatever happens.

The caller is the principal's ``key`` (an external caller's is qualified by its issuer), kept
in the record's ``client_id``; the label is stored with its owner (``carriers.tenancy``).

A record is claimed (persisted, state ``in_progress``, with a fresh label id and a claim
token) BEFORE the carrier is called. Whoever wins the claim buys; everyone else with the
same key follows the record (``carriers.idempotency.flow`` runs this):

- same key, same body (SHA-256 of the canonical JSON), ``completed`` → the same label;
- same key, different body → ``IdempotencyMismatch`` (422);
- ``in_progress`` → wait (in-process notify plus polling, bounded by ``wait_seconds``),
  then the outcome, or ``IdempotencyInProgress`` (409 + Retry-After);
- ``failed`` (the carrier said no, 4xx) → the same ``CarrierRejected`` again.

How a purchase attempt ends decides what the record becomes:

- success → ``completed`` (the label is also saved in the label store);
- 4xx → ``failed``;
- breaker open, 429, 503, or ``PurchaseUndone`` (the adapter voided a shipment whose
  answer it could not use) → ``retryable``: nothing was bought. The duplicates that were
  waiting for that attempt get the same ``CarrierUnavailable``; a later request with the
  key takes the record over and buys (so a retry after the outage works);
- anything else (timeout, transport error, other 5xx, a bug, cancellation) → ``unknown``:
  the carrier may have sold the label and we must not buy blindly again.

Crash recovery (decision). The label id is chosen when the record is claimed and passed
to ``Carrier.purchase``; adapters send it as the shipment reference. A record still
``in_progress`` after ``lease_seconds`` (the process died mid-purchase), or ``unknown``,
is taken over by the next retry (compare-and-swap on the claim token) and resolved by
asking the carrier "was label X bought?" through ``LabelLookup.find_label``:

- found → the record completes with that label (no second purchase);
- not found → the purchase is made now, once, under the same label id;
- the carrier's purchase is itself idempotent on the record's ``carrier_key`` (USPS):
  the purchase is sent again with the same key and the carrier returns what it sold;
- the carrier cannot be asked (no ``find_label``, or it raises ``CapabilityMissing``)
  → the record stays ``unknown`` and every retry gets ``IdempotencyUnresolved`` (409
  telling an operator to check the carrier account). Never a second purchase.

A takeover may do a lookup and a purchase, so config keeps the lease above twice the
account timeout.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from carriers.base import CapabilityMissing, CarrierError, CarrierRejected, CarrierUnavailable
from carriers.models import CarrierMessage, Label
from carriers.tenancy import LabelOwner


class RecordState(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    # nothing was bought (breaker open, 429, 503): the next request with the key may buy
    RETRYABLE = "retryable"
    # the purchase may have happened and nobody could confirm it yet
    UNKNOWN = "unknown"


class StoredError(BaseModel):
    """A carrier error kept on the record, raised again for replays."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["rejected", "unavailable", "capability"]
    carrier: str
    status_code: int | None = None
    retry_after: int | None = None
    messages: list[CarrierMessage]

    @classmethod
    def of(cls, exc: CarrierError) -> StoredError:
        kind: Literal["rejected", "unavailable", "capability"] = (
            "rejected" if isinstance(exc, CarrierRejected)
            else "capability" if isinstance(exc, CapabilityMissing) else "unavailable")
        return cls(kind=kind, carrier=exc.carrier, status_code=exc.status_code,
                   retry_after=getattr(exc, "retry_after", None), messages=list(exc.messages))

    def exception(self) -> CarrierError:
        if self.kind == "rejected":
            return CarrierRejected(self.carrier, list(self.messages),
                                   status_code=self.status_code)
        if self.kind == "capability":
            return CapabilityMissing(self.carrier, list(self.messages))
        error = CarrierUnavailable(self.carrier, list(self.messages),
                                   status_code=self.status_code)
        if self.retry_after is not None:
            error.retry_after = self.retry_after
        return error


class IdempotencyRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    # the caller's principal key (not the bare client id of an external token)
    client_id: str
    key: str
    fingerprint: str
    state: RecordState
    label_id: str
    # changes on every takeover; updates are compare-and-swap on it
    token: str
    label: Label | None = None
    error: StoredError | None = None
    # random UUID drawn at the claim and kept across takeovers: the idempotency key sent
    # to carriers that take one (USPS X-Idempotency-Key), so our retries reuse it
    carrier_key: str | None = None
    # epoch seconds
    created_at: float
    updated_at: float
    expires_at: float
    # the warehouse the label ships from (None in records written before it was kept)
    warehouse: str | None = None


@dataclass(frozen=True, slots=True)
class StoredLabel:
    label: Label
    # None for labels stored before owners were recorded
    owner: LabelOwner | None


class IdempotencyError(Exception):
    pass


class IdempotencyMismatch(IdempotencyError):
    """The key was used before with a different request body (422)."""


class IdempotencyInProgress(IdempotencyError):
    """Another request with this key is still buying (409 + Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("a purchase with this Idempotency-Key is still in progress")
        self.retry_after = retry_after


class IdempotencyUnresolved(IdempotencyError):
    """A purchase may have happened and the carrier cannot be asked (409, operator action)."""

    def __init__(self, label_id: str) -> None:
        super().__init__(
            f"the purchase for label {label_id} may have gone through but cannot be confirmed"
            " automatically; check the carrier account before buying again with a new key")
        self.label_id = label_id


class IdempotencyStore(Protocol):
    """Records by (client id, key) and labels by id; updates are compare-and-swap on token."""

    async def claim(self, record: IdempotencyRecord) -> tuple[IdempotencyRecord, bool]:
        """Insert unless a live record exists; return (the stored record, inserted?)."""
        ...

    async def get(self, client_id: str, key: str) -> IdempotencyRecord | None:
        ...

    async def replace(self, record: IdempotencyRecord, *, expected_token: str) -> bool:
        """Overwrite the record if its stored token is still ``expected_token``."""
        ...

    async def release(self, client_id: str, key: str, *, expected_token: str) -> bool:
        """Delete the record if its token is still ``expected_token`` (operator clean-up)."""
        ...

    async def save_label(self, label: Label, owner: LabelOwner | None = None) -> None:
        """Store the label with its owner (replacing the label, keeping a known owner)."""
        ...

    async def get_label(self, label_id: str) -> Label | None:
        ...

    async def get_stored_label(self, label_id: str) -> StoredLabel | None:
        """The label and who owns it."""
        ...

    async def mark_voided(self, label_id: str) -> Label | None:
        """Flag the stored label voided; None when unknown."""
        ...

    async def aclose(self) -> None:
        ...


@runtime_checkable
class LabelLookup(Protocol):
    """Carriers that can say whether a label id (sent as the reference) was bought."""

    async def find_label(self, label_id: str) -> Label | None:
        ...


def fingerprint(body: BaseModel | Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of the request body."""
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else dict(body)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_label_id() -> str:
    return "lbl_" + secrets.token_hex(12)
