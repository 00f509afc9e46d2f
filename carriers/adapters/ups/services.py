"""UPS vocabularies: service codes and tracking activity codes, mapped to ours."""

from __future__ import annotations

from typing import NamedTuple

from carriers.models import ServiceLevel, TrackingStatus


class Service(NamedTuple):
    code: str
    slug: str
    name: str
    level: ServiceLevel


_L = ServiceLevel
SERVICES: tuple[Service, ...] = (
    Service("01", "ups_next_day_air", "UPS Next Day Air", _L.OVERNIGHT),
    Service("02", "ups_2nd_day_air", "UPS 2nd Day Air", _L.EXPEDITED),
    Service("03", "ups_ground", "UPS Ground", _L.GROUND),
    Service("07", "ups_worldwide_express", "UPS Worldwide Express", _L.EXPEDITED),
    Service("08", "ups_worldwide_expedited", "UPS Worldwide Expedited", _L.EXPEDITED),
    Service("11", "ups_standard", "UPS Standard", _L.GROUND),
    Service("12", "ups_3_day_select", "UPS 3 Day Select", _L.EXPEDITED),
    Service("13", "ups_next_day_air_saver", "UPS Next Day Air Saver", _L.OVERNIGHT),
    Service("14", "ups_next_day_air_early", "UPS Next Day Air Early", _L.OVERNIGHT),
    Service("17", "ups_worldwide_economy_ddu", "UPS Worldwide Economy DDU", _L.ECONOMY),
    Service("54", "ups_worldwide_express_plus", "UPS Worldwide Express Plus", _L.EXPEDITED),
    Service("59", "ups_2nd_day_air_am", "UPS 2nd Day Air A.M.", _L.EXPEDITED),
    Service("65", "ups_saver", "UPS Saver", _L.EXPEDITED),
    Service("71", "ups_worldwide_express_freight_midday",
            "UPS Worldwide Express Freight Midday", _L.EXPEDITED),
    Service("72", "ups_worldwide_economy_ddp", "UPS Worldwide Economy DDP", _L.ECONOMY),
    Service("74", "ups_express_12", "UPS Express 12:00", _L.EXPEDITED),
    Service("75", "ups_heavy_goods", "UPS Heavy Goods", _L.GROUND),
    Service("93", "ups_ground_saver", "UPS Ground Saver", _L.ECONOMY),
    Service("96", "ups_worldwide_express_freight", "UPS Worldwide Express Freight", _L.EXPEDITED),
)
_BY_CODE = {s.code: s for s in SERVICES}
_BY_SLUG = {s.slug: s for s in SERVICES}


def service_for_code(code: str) -> Service:
    """Our view of a UPS service code; codes we do not list still rate, as ``ups_<code>``."""
    known = _BY_CODE.get(code)
    if known:
        return known
    return Service(code, f"ups_{code.lower()}", f"UPS service {code}", ServiceLevel.EXPEDITED)


def code_for_service(service: str) -> str | None:
    """The UPS code behind one of our service ids (``ups_ground``, ``ups_93``) or a raw code."""
    if service in _BY_SLUG:
        return _BY_SLUG[service].code
    raw = service.removeprefix("ups_").upper()
    return raw if 1 <= len(raw) <= 3 and raw.isalnum() else None


# Tracking: the activity ``status.type`` letter is coarse ("I" covers out for delivery);
# the numeric ``status.statusCode`` refines it (UPS status/description code table).
_ACTIVITY_TYPES = {
    "M": TrackingStatus.PRE_TRANSIT,  # billing information received
    "MV": TrackingStatus.PRE_TRANSIT,  # billing information voided
    "P": TrackingStatus.IN_TRANSIT,  # pickup
    "I": TrackingStatus.IN_TRANSIT,
    "W": TrackingStatus.IN_TRANSIT,  # warehousing (freight)
    "DO": TrackingStatus.IN_TRANSIT,  # delivered origin CFS (freight)
    "DD": TrackingStatus.IN_TRANSIT,  # delivered destination CFS (freight)
    "D": TrackingStatus.DELIVERED,
    "X": TrackingStatus.EXCEPTION,
    "RS": TrackingStatus.RETURNED,
}
# 146 and 162 are "Out For Delivery" in the status code table (Tracking-status-description-codes)
_OUT_FOR_DELIVERY_CODES = frozenset({6, 21, 37, 72, 89, 91, 146, 162})
_RETURNED_CODES = frozenset({34, 67, 81})


def tracking_status(activity_type: str | None, status_code: str | None) -> TrackingStatus:
    code = int(status_code) if status_code and status_code.strip().isdigit() else None
    if code in _RETURNED_CODES:
        return TrackingStatus.RETURNED
    status = _ACTIVITY_TYPES.get((activity_type or "").strip().upper(), TrackingStatus.UNKNOWN)
    if status is TrackingStatus.IN_TRANSIT and code in _OUT_FOR_DELIVERY_CODES:
        return TrackingStatus.OUT_FOR_DELIVERY
    return status
