"""The carrier protocol and its errors.

Exception tree::

    CarrierError
    ├── CarrierRejected      the carrier said no to this request (4xx); never triggers fallback
    ├── CarrierUnavailable   5xx, connection failure, breaker open; fallback rates may stand in
    │   ├── CarrierTimeout   no answer inside the call budget
    │   └── PurchaseUndone   a shipment was created, its answer was unusable, and it was
    │                        voided again: nothing is bought, the purchase may be retried
    └── CapabilityMissing    the carrier cannot do this operation at all
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from carriers.models import (
    CarrierMessage,
    Label,
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)


class Capability(StrEnum):
    RATE = "rate"
    LABEL = "label"
    VOID = "void"
    TRACK = "track"


class CarrierError(Exception):
    def __init__(self, carrier: str, messages: list[CarrierMessage],
                 *, status_code: int | None = None) -> None:
        self.carrier = carrier
        self.messages = messages
        # the carrier's HTTP status when the error came from an HTTP answer
        self.status_code = status_code
        super().__init__("; ".join(f"{m.code}: {m.message}" for m in messages) or carrier)


class CarrierRejected(CarrierError):
    pass


class CarrierUnavailable(CarrierError):
    retry_after: int = 30


class CarrierTimeout(CarrierUnavailable):
    pass


class PurchaseUndone(CarrierUnavailable):
    pass


class CapabilityMissing(CarrierError):
    pass


@runtime_checkable
class Carrier(Protocol):
    """One configured carrier account.

    ``id`` is the account id from config (two accounts of one carrier are two
    Carriers); ``carrier`` is the carrier's code (``ups``, ``fedex``, ``sandbox`` …).
    Operations raise ``CarrierError`` subclasses; never bare httpx errors.
    """

    id: str
    carrier: str
    capabilities: frozenset[Capability]

    async def rate(self, request: RateRequest) -> list[Rate]:
        """Live rates for the shipment; per-service problems may be dropped silently."""
        ...

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        """Buy a label. Called at most once per idempotency record (again only when
        the record proves nothing was bought). ``carrier_key`` is the record's random
        UUID, for carriers that take an idempotency key of their own (USPS)."""
        ...

    async def void(self, label: Label) -> VoidResult:
        """Cancel a bought label; a refusal is a VoidResult with voided=False."""
        ...

    async def track(self, tracking_number: str) -> Tracking:
        """Tracking history with normalized status."""
        ...

    async def aclose(self) -> None:
        ...


@runtime_checkable
class LabelChecks(Protocol):
    """Carriers that refuse bad label requests locally, before any idempotency record."""

    def check_label(self, request: LabelRequest) -> None:
        """Raise CarrierRejected naming each field and carrier rule the request breaks."""
        ...


@runtime_checkable
class RepeatablePurchase(Protocol):
    """Carriers whose purchase is idempotent on ``carrier_key`` (the same key returns the
    label already bought, uncharged), so an unknown outcome is resolved by buying again."""

    repeatable_purchase: bool
