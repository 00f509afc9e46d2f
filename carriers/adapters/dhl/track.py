"""MyDHL tracking reply into our tracking model. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from carriers.adapters.dhl.common import CARRIER
from carriers.models import Tracking, TrackingEvent, TrackingStatus

# checkpoint codes: PU AF PL DF RR CR AR WC OK appear in the spec's tracking example; the rest
# follow DHL's Express checkpoint list (unverified against a DHL-published copy)
_EVENT_STATUS: Mapping[str, TrackingStatus] = {
    "OK": TrackingStatus.DELIVERED,
    "WC": TrackingStatus.OUT_FOR_DELIVERY,
    "RT": TrackingStatus.RETURNED,
    **dict.fromkeys(("BA", "CA", "CD", "CM", "DD", "DS", "HP", "MC", "MD", "MS", "ND", "NH",
                     "OH", "RD", "SS", "UD"), TrackingStatus.EXCEPTION),
    **dict.fromkeys(("AD", "AF", "AR", "BN", "BR", "CC", "CR", "DF", "FD", "IC", "PD", "PL",
                     "PU", "PY", "RR", "SA", "SC", "SM", "TP", "TR"), TrackingStatus.IN_TRANSIT),
}


def _event(item: Mapping[str, Any]) -> TrackingEvent:
    stamp = f"{item['date']}T{item.get('time') or '00:00:00'}{item.get('GMTOffset') or ''}"
    areas = [str(a["description"]) for a in item.get("serviceArea") or [] if a.get("description")]
    code = str(item.get("typeCode") or "")
    return TrackingEvent(
        occurred_at=datetime.fromisoformat(stamp),
        status=_EVENT_STATUS.get(code, TrackingStatus.UNKNOWN),
        description=str(item.get("description") or "").strip(),
        location=areas[0] if areas else None, carrier_code=code or None)


def _sort_key(event: TrackingEvent) -> datetime:
    moment = event.occurred_at  # without GMTOffset the time is the checkpoint's local time
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_tracking(body: Mapping[str, Any], tracking_number: str) -> Tracking:
    """GET /shipments/{tn}/tracking; events newest first, status from the latest known one."""
    shipment = (body.get("shipments") or [{}])[0]
    # DHL lists checkpoints oldest first: reverse, then a stable sort keeps same-time ties
    events = sorted(reversed([_event(item) for item in shipment.get("events") or []]),
                    key=_sort_key, reverse=True)
    known = [e.status for e in events if e.status != TrackingStatus.UNKNOWN]
    status = known[0] if known else (TrackingStatus.UNKNOWN if events
                                     else TrackingStatus.PRE_TRANSIT)
    expected = shipment.get("estimatedDeliveryDate")
    return Tracking(
        carrier=CARRIER,
        tracking_number=str(shipment.get("shipmentTrackingNumber") or tracking_number),
        status=status,
        estimated_delivery=date.fromisoformat(str(expected)[:10]) if expected else None,
        events=events)
