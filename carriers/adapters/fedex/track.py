"""FedEx Track ``v1``: tracking request and reply. Pure."""

from __future__ import annotations

from datetime import date
from typing import Any

from carriers.adapters.fedex.common import CARRIER, UnexpectedReply, iso, text
from carriers.adapters.fedex.services import tracking_status
from carriers.adapters.payload import as_list, dig
from carriers.base import CarrierRejected
from carriers.models import CarrierMessage, Tracking, TrackingEvent, TrackingStatus


def track_request(tracking_number: str) -> dict[str, Any]:
    return {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": tracking_number}}],
    }


def parse_tracking(body: Any, tracking_number: str) -> Tracking:
    complete = as_list(dig(body, "output", "completeTrackResults"))
    results = as_list(dig(complete[0], "trackResults")) if complete else []
    if not results or not isinstance(results[0], dict):
        raise UnexpectedReply("FedEx tracking reply lacks completeTrackResults[].trackResults")
    result = results[0]
    error = result.get("error")
    if isinstance(error, dict):
        # FedEx answers 200 and puts "not found" inside the result
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code=text(error.get("code")) or "not_found",
            message=text(error.get("message")) or f"no FedEx tracking for {tracking_number}")])
    events = [event for scan in as_list(result.get("scanEvents"))
              if isinstance(scan, dict) and (event := _event(scan)) is not None]
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    latest = result.get("latestStatusDetail") or {}
    status = tracking_status(latest.get("derivedCode"), latest.get("code"))
    if status is TrackingStatus.UNKNOWN and events:
        status = events[0].status
    number = text(dig(result, "trackingNumberInfo", "trackingNumber")) or tracking_number
    return Tracking(carrier=CARRIER, tracking_number=number, status=status,
                    estimated_delivery=_estimated_delivery(result), events=events)


def _event(scan: dict[str, Any]) -> TrackingEvent | None:
    occurred = iso(scan.get("date"))
    if occurred is None:
        return None
    location = scan.get("scanLocation") or {}
    place = ", ".join(p for p in (text(location.get("city")),
                                  text(location.get("stateOrProvinceCode")),
                                  text(location.get("countryCode"))) if p)
    description = text(scan.get("eventDescription")) or text(scan.get("derivedStatus"))
    exception = text(scan.get("exceptionDescription"))
    if exception:
        description = f"{description}: {exception}" if description else exception
    return TrackingEvent(
        occurred_at=occurred,
        status=tracking_status(scan.get("derivedStatusCode"), scan.get("eventType")),
        description=description or "update",
        location=place or None,
        carrier_code=text(scan.get("eventType")) or None,
    )


def _estimated_delivery(result: dict[str, Any]) -> date | None:
    for entry in as_list(result.get("dateAndTimes")):
        if isinstance(entry, dict) and text(entry.get("type")) == "ESTIMATED_DELIVERY":
            moment = iso(entry.get("dateTime"))
            if moment:
                return moment.date()
    window = dig(result, "estimatedDeliveryTimeWindow", "window") or {}
    moment = iso(window.get("ends")) or iso(window.get("begins"))
    return moment.date() if moment else None
