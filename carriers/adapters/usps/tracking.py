"""Pure mapping of USPS Tracking 3.0 answers (``GET /tracking/v3/tracking/{tn}?expand=DETAIL``).

USPS status wording → TrackingStatus: the first matching group wins, checked on
``statusCategory`` first, then ``status``; each event is matched on its ``eventType``.
"Available for Pickup" counts as in transit: the parcel waits at a Post Office.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from carriers.adapters.usps.mapping import CARRIER
from carriers.models import Tracking, TrackingEvent, TrackingStatus

# statusCategory / eventType wording (only "Accepted" and "USPS in possession of item" are in
# the spec examples; the other phrases are USPS's public tracking vocabulary, unverified)
_STATUS_WORDS: tuple[tuple[TrackingStatus, tuple[str, ...]], ...] = (
    (TrackingStatus.RETURNED, ("return to sender", "returned to sender", "returned")),
    (TrackingStatus.PRE_TRANSIT, ("pre-shipment", "pre shipment", "label created",
                                  "shipping label created", "awaiting item")),
    (TrackingStatus.OUT_FOR_DELIVERY, ("out for delivery",)),
    (TrackingStatus.EXCEPTION, ("alert", "attempt", "notice left", "undeliverable", "refused",
                                "insufficient address", "no such number", "missent",
                                "damaged", "held", "exception", "delayed")),
    (TrackingStatus.DELIVERED, ("delivered",)),
    (TrackingStatus.IN_TRANSIT, ("accepted", "acceptance", "in possession", "in transit",
                                 "in-transit", "arrived", "departed", "processed", "transit",
                                 "forwarded", "available for pickup", "picked up")),
)


def tracking_status(*texts: str | None) -> TrackingStatus:
    """First status whose wording appears in the first text that has any."""
    for text in texts:
        lowered = (text or "").lower()
        for status, words in _STATUS_WORDS:
            if any(word in lowered for word in words):
                return status
    return TrackingStatus.UNKNOWN


def _event(item: Mapping[str, Any]) -> TrackingEvent:
    place = ", ".join(str(part) for part in (
        item.get("eventCity"), " ".join(str(p) for p in (item.get("eventState"),
                                                          item.get("eventZIP")) if p),
        item.get("eventCountry")) if part)
    description = str(item.get("eventType") or "")
    return TrackingEvent(
        occurred_at=datetime.fromisoformat(str(item.get("GMTTimestamp")
                                              or item["eventTimestamp"])),
        status=tracking_status(description), description=description,
        location=place or None, carrier_code=item.get("eventCode"))


def _sort_key(event: TrackingEvent) -> datetime:
    moment = event.occurred_at
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_tracking(body: Mapping[str, Any], tracking_number: str) -> Tracking:
    """GET /tracking/v3/tracking/{tn}?expand=DETAIL; events newest first."""
    events = sorted((_event(item) for item in body.get("trackingEvents") or []),
                    key=_sort_key, reverse=True)
    status = tracking_status(body.get("statusCategory"), body.get("status"))
    if status == TrackingStatus.UNKNOWN:
        status = next((e.status for e in events if e.status != TrackingStatus.UNKNOWN),
                      TrackingStatus.PRE_TRANSIT if not events else TrackingStatus.UNKNOWN)
    expected = body.get("expectedDeliveryTimeStamp") or body.get("predictedDeliveryDate")
    return Tracking(
        carrier=CARRIER, tracking_number=str(body.get("trackingNumber") or tracking_number),
        status=status,
        estimated_delivery=date.fromisoformat(str(expected)[:10]) if expected else None,
        events=events)
