"""USPS label cancel (and refund after manifest) replies. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from carriers.adapters.usps.common import CARRIER
from carriers.models import Label, VoidResult


def void_targets(label: Label) -> list[str]:
    """Every parcel has its own USPS label, so voiding a shipment cancels each of them."""
    return [p.tracking_number for p in label.packages] or [label.tracking_number]


def parse_cancel(body: Mapping[str, Any]) -> tuple[bool, str | None]:
    status = str(body.get("status", "")).upper()
    if status == "CANCELED":
        return True, None
    if status == "DISPUTED":  # already in a Shipping Services File: a refund was requested
        return True, (f"USPS refund requested (dispute {body.get('disputeId', '?')}); "
                      "the label must not be used")
    return False, f"USPS answered status {status or 'missing'}"


def void_result(label: Label, outcomes: Sequence[tuple[str, bool, str | None]]) -> VoidResult:
    """Combine per-parcel outcomes (tracking number, voided, message)."""
    notes = [f"{tn}: {msg}" if len(outcomes) > 1 else msg
             for tn, _, msg in outcomes if msg]
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number,
                      voided=all(ok for _, ok, _ in outcomes),
                      message="; ".join(notes) or None)


def cancel_path(tracking_number: str) -> str:
    """International labels (13-character S10 numbers, ``LX123456789US``) cancel apart."""
    if len(tracking_number) == 13 and tracking_number[:2].isalpha():
        return "/international-labels/v3/international-label/"
    return "/labels/v3/label/"
