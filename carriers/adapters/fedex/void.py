"""FedEx cancel: request, reply and refusal. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from carriers.adapters.fedex.common import CARRIER, UnexpectedReply, text
from carriers.adapters.fedex.config import FedExConfig
from carriers.adapters.payload import as_list, dig
from carriers.models import CarrierMessage, Label, VoidResult


def cancel_request(label: Label, config: FedExConfig) -> dict[str, Any]:
    """Body for ``PUT /ship/v1/shipments/cancel``; the master number voids every piece."""
    return {
        "accountNumber": {"value": config.account_number},
        "trackingNumber": label.tracking_number,
        "deletionControl": "DELETE_ALL_PACKAGES",
    }


def parse_cancel(body: Any, label: Label) -> VoidResult:
    output = dig(body, "output")
    if not isinstance(output, dict) or "cancelledShipment" not in output:
        raise UnexpectedReply("FedEx cancel reply lacks output.cancelledShipment")
    voided = output.get("cancelledShipment") is True
    notes = [text(output.get("message"))] + [
        text(a.get("message")) for a in as_list(output.get("alerts")) if isinstance(a, dict)]
    message = "; ".join(n for n in notes if n) or None
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=voided,
                      message=None if voided else message)


def void_refusal(messages: Iterable[CarrierMessage], label: Label) -> VoidResult:
    """A 4xx answer to a cancel (already tendered, unknown number) is a refusal."""
    text = "; ".join(f"{m.code}: {m.message}" for m in messages)
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=False,
                      message=text or "FedEx refused to cancel the shipment")


def cancelled(body: Any) -> bool:
    """Whether a cancel reply says the shipment is cancelled (no label needed to read it)."""
    return dig(body, "output", "cancelledShipment") is True
