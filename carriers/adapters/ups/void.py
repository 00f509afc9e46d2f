"""UPS void: the target, the reply and a refusal. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from carriers.adapters.payload import dig
from carriers.adapters.ups.common import CARRIER, UnexpectedReply, text
from carriers.models import CarrierMessage, Label, VoidResult


def void_target(label: Label) -> str:
    """UPS voids by shipment identification number; the master 1Z serves when it is unknown."""
    return label.carrier_shipment_id or label.tracking_number


def parse_void(body: Any, label: Label) -> VoidResult:
    status = dig(body, "VoidShipmentResponse", "SummaryResult", "Status")
    if not isinstance(status, dict):
        raise UnexpectedReply("UPS void reply lacks SummaryResult.Status")
    voided = text(status.get("Code")) == "1"
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=voided,
                      message=None if voided else (text(status.get("Description")) or None))


def void_refusal(messages: Iterable[CarrierMessage], label: Label) -> VoidResult:
    """A 4xx answer to a void (too late, already voided, unknown shipment) is a refusal."""
    text = "; ".join(f"{m.code}: {m.message}" for m in messages)
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=False,
                      message=text or "UPS refused to void the shipment")
