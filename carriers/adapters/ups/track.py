"""UPS Tracking ``v1``: the details reply into our tracking model. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from carriers.adapters.payload import as_list, dig
from carriers.adapters.ups.common import CARRIER, UnexpectedReply, text
from carriers.adapters.ups.services import tracking_status
from carriers.base import CarrierRejected
from carriers.models import CarrierMessage, Tracking, TrackingEvent, TrackingStatus


def parse_tracking(body: Any, tracking_number: str) -> Tracking:
    shipments = as_list(dig(body, "trackResponse", "shipment"))
    if not shipments:
        raise UnexpectedReply("UPS tracking reply lacks trackResponse.shipment")
    shipment = shipments[0]
    packages = as_list(shipment.get("package"))
    if not packages:
        # UPS answers 200 with warnings (e.g. TW0001) for numbers it does not know
        messages = [CarrierMessage(carrier=CARRIER, code=text(w.get("code")) or "warning",
                                   message=text(w.get("message")) or "no tracking data")
                    for w in as_list(shipment.get("warnings"))]
        raise CarrierRejected(CARRIER, messages or [CarrierMessage(
            carrier=CARRIER, code="not_found", message=f"no UPS tracking for {tracking_number}")])
    package = packages[0]
    events = [event for activity in as_list(package.get("activity"))
              if isinstance(activity, dict) and (event := _event(activity)) is not None]
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    current = package.get("currentStatus") or {}
    status = (tracking_status(current.get("type"), current.get("statusCode"))
              if current else TrackingStatus.UNKNOWN)
    if status is TrackingStatus.UNKNOWN and events:
        status = events[0].status
    return Tracking(
        carrier=CARRIER,
        tracking_number=text(package.get("trackingNumber")) or tracking_number,
        status=status, estimated_delivery=_estimated_delivery(package), events=events,
    )


def _event(activity: dict[str, Any]) -> TrackingEvent | None:
    occurred = _timestamp(activity.get("date"), activity.get("time"), activity.get("gmtOffset"))
    if occurred is None:
        return None
    status = activity.get("status") or {}
    address = dig(activity, "location", "address") or {}
    place = ", ".join(p for p in (text(address.get("city")), text(address.get("stateProvince")),
                                  text(address.get("countryCode"))) if p)
    return TrackingEvent(
        occurred_at=occurred,
        status=tracking_status(status.get("type"), status.get("statusCode")),
        description=text(status.get("description")) or text(status.get("type")) or "update",
        location=place or None,
        carrier_code=text(status.get("code")) or None,
    )


def _timestamp(day: Any, clock: Any, offset: Any) -> datetime | None:
    """UPS local ``YYYYMMDD`` + ``HHMMSS`` with the ``gmtOffset`` (``-05:00``) when present."""
    day, clock = text(day), text(clock).ljust(6, "0")
    try:
        moment = datetime.strptime(day + clock[:6], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=_offset(text(offset)))


def _offset(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    if not hours.isdigit():
        return UTC
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def _estimated_delivery(package: dict[str, Any]) -> date | None:
    dates = {text(d.get("type")): text(d.get("date"))
             for d in as_list(package.get("deliveryDate")) if isinstance(d, dict)}
    # rescheduled beats scheduled; DEL is the actual delivery date, not an estimate
    for kind in ("RDD", "SDD"):
        if dates.get(kind):
            try:
                return datetime.strptime(dates[kind], "%Y%m%d").date()
            except ValueError:
                continue
    return None
