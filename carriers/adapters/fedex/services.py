"""FedEx vocabularies: service types and tracking status codes, mapped to ours."""

from __future__ import annotations

import re

from carriers.models import ServiceLevel, TrackingStatus

_L = ServiceLevel
SERVICE_LEVELS: dict[str, ServiceLevel] = {
    "FEDEX_GROUND": _L.GROUND,
    "GROUND_HOME_DELIVERY": _L.GROUND,
    "FEDEX_INTERNATIONAL_GROUND": _L.GROUND,
    "INTERNATIONAL_GROUND": _L.GROUND,
    "FEDEX_GROUND_ECONOMY": _L.ECONOMY,
    "SMART_POST": _L.ECONOMY,
    "FEDEX_REGIONAL_ECONOMY": _L.ECONOMY,
    "INTERNATIONAL_ECONOMY": _L.ECONOMY,
    "FEDEX_INTERNATIONAL_CONNECT_PLUS": _L.ECONOMY,
    "INTERNATIONAL_ECONOMY_FREIGHT": _L.ECONOMY,
    "FEDEX_2_DAY": _L.EXPEDITED,
    "FEDEX_2_DAY_AM": _L.EXPEDITED,
    "FEDEX_EXPRESS_SAVER": _L.EXPEDITED,
    "FEDEX_2_DAY_FREIGHT": _L.EXPEDITED,
    "FEDEX_3_DAY_FREIGHT": _L.EXPEDITED,
    "INTERNATIONAL_FIRST": _L.EXPEDITED,
    "INTERNATIONAL_PRIORITY": _L.EXPEDITED,
    "INTERNATIONAL_PRIORITY_EXPRESS": _L.EXPEDITED,
    "FEDEX_INTERNATIONAL_PRIORITY": _L.EXPEDITED,
    "FEDEX_INTERNATIONAL_PRIORITY_EXPRESS": _L.EXPEDITED,
    "INTERNATIONAL_PRIORITY_FREIGHT": _L.EXPEDITED,
    "FIRST_OVERNIGHT": _L.OVERNIGHT,
    "PRIORITY_OVERNIGHT": _L.OVERNIGHT,
    "STANDARD_OVERNIGHT": _L.OVERNIGHT,
    "FEDEX_1_DAY_FREIGHT": _L.OVERNIGHT,
    "FEDEX_FIRST_FREIGHT": _L.OVERNIGHT,
    "FEDEX_FIRST": _L.OVERNIGHT,
    "FEDEX_PRIORITY": _L.OVERNIGHT,
    "FEDEX_PRIORITY_EXPRESS": _L.OVERNIGHT,
}

_SERVICE_TYPE = re.compile(r"^[A-Z0-9_]{2,60}$")


def service_id(service_type: str) -> str:
    """Our service id for a FedEx service type: ``FEDEX_GROUND`` → ``fedex_ground``."""
    return service_type.lower()


def service_type(service: str) -> str | None:
    """The FedEx service type behind one of our ids (either case is accepted)."""
    candidate = service.strip().upper()
    return candidate if _SERVICE_TYPE.fullmatch(candidate) else None


def service_level(service_type: str) -> ServiceLevel:
    known = SERVICE_LEVELS.get(service_type)
    if known:
        return known
    # FedEx adds regional products now and then; their names say enough to tag them
    for word, level in (("OVERNIGHT", _L.OVERNIGHT), ("GROUND", _L.GROUND),
                        ("ECONOMY", _L.ECONOMY)):
        if word in service_type:
            return level
    return _L.EXPEDITED


# FedEx tracking status codes (derivedStatusCode / eventType / latestStatusDetail.code)
_S = TrackingStatus
TRACKING_CODES: dict[str, TrackingStatus] = {
    "IN": _S.PRE_TRANSIT,  # initiated: label created
    "OC": _S.PRE_TRANSIT,  # order created
    "EP": _S.PRE_TRANSIT,  # enroute to pickup
    "PU": _S.IN_TRANSIT, "PX": _S.IN_TRANSIT, "AP": _S.IN_TRANSIT, "OF": _S.IN_TRANSIT,
    "IT": _S.IN_TRANSIT, "IX": _S.IN_TRANSIT, "AA": _S.IN_TRANSIT, "AC": _S.IN_TRANSIT,
    "AF": _S.IN_TRANSIT, "AR": _S.IN_TRANSIT, "AX": _S.IN_TRANSIT, "AO": _S.IN_TRANSIT,
    "DP": _S.IN_TRANSIT, "EA": _S.IN_TRANSIT, "EO": _S.IN_TRANSIT, "FD": _S.IN_TRANSIT,
    "LO": _S.IN_TRANSIT, "OW": _S.IN_TRANSIT, "PF": _S.IN_TRANSIT, "PL": _S.IN_TRANSIT,
    "PM": _S.IN_TRANSIT, "SF": _S.IN_TRANSIT, "TR": _S.IN_TRANSIT, "CC": _S.IN_TRANSIT,
    "CP": _S.IN_TRANSIT, "OX": _S.IN_TRANSIT, "SP": _S.IN_TRANSIT, "DS": _S.IN_TRANSIT,
    "HL": _S.IN_TRANSIT, "HP": _S.IN_TRANSIT, "CH": _S.IN_TRANSIT,
    "OD": _S.OUT_FOR_DELIVERY, "ED": _S.OUT_FOR_DELIVERY, "AD": _S.OUT_FOR_DELIVERY,
    "DL": _S.DELIVERED,
    "DE": _S.EXCEPTION, "SE": _S.EXCEPTION, "DD": _S.EXCEPTION, "DY": _S.EXCEPTION,
    "CD": _S.EXCEPTION, "PD": _S.EXCEPTION, "CA": _S.EXCEPTION,
    "RS": _S.RETURNED,
}


def tracking_status(*codes: str | None) -> TrackingStatus:
    """The first of ``codes`` FedEx documents decides; unknown codes stay unknown."""
    for code in codes:
        status = TRACKING_CODES.get((code or "").strip().upper())
        if status:
            return status
    return TrackingStatus.UNKNOWN
