"""Pure mapping between the unified shipping models and the DHL Express MyDHL API 3.1.

Spec: "DHL Express APIs (MyDHL API)" OpenAPI 3.1.1 (developer.dhl.com). Nothing here does I/O.

Service levels, by global product code (name keywords decide for codes not listed)::

    P D U      EXPRESS WORLDWIDE (nondoc, doc, EU)        expedited
    X 7 8      EXPRESS ENVELOPE, EXPRESS EASY             expedited
    K E        EXPRESS 9:00 (doc, nondoc)                 overnight
    L M        EXPRESS 10:30 (doc, nondoc)                overnight
    T Y        EXPRESS 12:00 (doc, nondoc)                overnight
    N I O 1    DOMESTIC EXPRESS, 9:00, 10:30, 12:00        overnight
    H W        ECONOMY SELECT (nondoc, EU)                economy
    G          ECONOMY SELECT DOMESTIC                    economy

The product code table is DHL's published global product list as mirrored by open-source
integrations; only P, I and B appear in the MyDHL spec examples.

Shipments that need a customs declaration are refused here: ``LabelRequest`` carries no
line items, values or HS codes, which MyDHL requires for dutiable shipments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import CapabilityMissing, CarrierRejected, CarrierUnavailable
from carriers.models import (
    Address,
    CarrierMessage,
    DimensionUnit,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    Parcel,
    Rate,
    RateRequest,
    ServiceLevel,
    Tracking,
    TrackingEvent,
    TrackingStatus,
    WeightUnit,
)

CARRIER = "dhl_express"
# MyDHL "Interface version - do not change this field value" (x-version header default)
API_VERSION = "3.1.0"
# ISO 4217 "no currency": MyDHL returned no charges for the shipment
NO_CURRENCY = "XXX"

PRODUCT_LEVELS: Mapping[str, ServiceLevel] = {
    **dict.fromkeys(("P", "D", "U", "X", "7", "8"), ServiceLevel.EXPEDITED),
    **dict.fromkeys(("K", "E", "L", "M", "T", "Y", "N", "I", "O", "1"), ServiceLevel.OVERNIGHT),
    **dict.fromkeys(("H", "W", "G"), ServiceLevel.ECONOMY),
}
# EU customs union (plus Monaco, inside it through France): no declaration between these
_CUSTOMS_UNION = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MC", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
ENCODINGS: Mapping[LabelFormat, str] = {LabelFormat.PDF: "pdf", LabelFormat.ZPL: "zpl"}
_PRICE_PREFERENCE = ("BILLC", "PULCL", "BASEC")  # billing, public-rate, base currency
_LB_PER_KG = Decimal("2.20462262185")
_CM_PER_IN = Decimal("2.54")
_GRAM = Decimal("0.001")
_MM = Decimal("0.1")
_CENT = Decimal("0.01")
_CODED = re.compile(r"^\s*(\d{3,6})\s*:\s*(.+)$", re.DOTALL)


def reject(code: str, message: str) -> CarrierRejected:
    return CarrierRejected(CARRIER, [CarrierMessage(carrier=CARRIER, code=code, message=message)])


def _num(value: Decimal) -> float:
    return float(value)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(_CENT)


# --- shared pieces ---------------------------------------------------------------------

def customs_declarable(ship_from: Address, ship_to: Address) -> bool:
    if ship_from.country == ship_to.country:
        return False
    return not {ship_from.country, ship_to.country} <= _CUSTOMS_UNION


def planned_shipping(now: datetime, zone: ZoneInfo) -> str:
    """The account's local time with its offset, e.g. ``2025-01-18T17:00:00 GMT+01:00``.

    Ten minutes ahead: MyDHL refuses a planned time it already sees as past.
    """
    local = (now + timedelta(minutes=10)).astimezone(zone)
    offset = local.strftime("%z") or "+0000"
    return f"{local:%Y-%m-%dT%H:%M:%S} GMT{offset[:3]}:{offset[3:5]}"


def _package(parcel: Parcel) -> dict[str, Any]:
    weight = parcel.weight if parcel.weight_unit == WeightUnit.KG else parcel.weight / _LB_PER_KG
    out: dict[str, Any] = {"weight": _num(weight.quantize(_GRAM, rounding=ROUND_UP))}
    if parcel.dimensions is not None:
        dims = parcel.dimensions
        factor = Decimal(1) if dims.unit == DimensionUnit.CM else _CM_PER_IN
        out["dimensions"] = {
            side: _num((getattr(dims, side) * factor).quantize(_MM, rounding=ROUND_UP))
            for side in ("length", "width", "height")}
    return out


def _account(config: DhlExpressConfig) -> list[dict[str, str]]:
    return [{"typeCode": "shipper", "number": config.account_number}]


# --- rates -----------------------------------------------------------------------------

def _rate_address(address: Address) -> dict[str, str]:
    return {"postalCode": address.postal_code, "cityName": address.city,
            "countryCode": address.country}


def rate_request(request: RateRequest, config: DhlExpressConfig, now: datetime
                 ) -> dict[str, Any]:
    """POST /rates (multi-piece)."""
    return {
        "customerDetails": {"shipperDetails": _rate_address(request.ship_from),
                            "receiverDetails": _rate_address(request.ship_to)},
        "accounts": _account(config),
        "plannedShippingDateAndTime": planned_shipping(now, config.zone),
        "unitOfMeasurement": "metric",
        "isCustomsDeclarable": customs_declarable(request.ship_from, request.ship_to),
        # products past today's cut-off are quoted for the next business day
        "nextBusinessDay": True,
        "packages": [_package(parcel) for parcel in request.parcels],
    }


def service_level(product_code: str, product_name: str = "") -> ServiceLevel:
    if product_code in PRODUCT_LEVELS:
        return PRODUCT_LEVELS[product_code]
    name = product_name.upper()
    if "ECONOMY" in name:
        return ServiceLevel.ECONOMY
    if any(word in name for word in ("9:00", "10:30", "12:00", "DOMESTIC", "SAME DAY")):
        return ServiceLevel.OVERNIGHT
    return ServiceLevel.EXPEDITED


def _price(prices: Any) -> tuple[Decimal, str] | None:
    usable = {p.get("currencyType"): p for p in prices or []
              if p.get("priceCurrency") and p.get("price") is not None}
    for kind in _PRICE_PREFERENCE:
        if kind in usable:
            return _money(usable[kind]["price"]), str(usable[kind]["priceCurrency"])
    return None


def parse_rates(body: Mapping[str, Any], account: str) -> list[Rate]:
    """One Rate per priced product; products without a price for this account are dropped."""
    rates = []
    for product in body.get("products") or []:
        price = _price(product.get("totalPrice"))
        code = str(product.get("productCode") or "")
        if price is None or price[0] <= 0 or not code:
            continue
        days = (product.get("deliveryCapabilities") or {}).get("totalTransitDays")
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=code,
            service_level=service_level(code, str(product.get("productName") or "")),
            amount=price[0], currency=price[1],
            estimated_transit_days=int(days) if days is not None else None))
    return rates


# --- shipments -------------------------------------------------------------------------

def _party(address: Address, role: str) -> dict[str, Any]:
    if not address.phone:
        raise reject("phone_required", f"DHL Express needs the {role}'s phone number")
    postal: dict[str, Any] = {"postalCode": address.postal_code, "cityName": address.city,
                              "countryCode": address.country}
    for index, line in enumerate(address.street, start=1):
        postal[f"addressLine{index}"] = line
    if address.state and len(address.state) >= 2:
        postal["provinceCode"] = address.state
    contact: dict[str, Any] = {"phone": address.phone,
                               "companyName": address.company or address.name,
                               "fullName": address.name}
    if address.email:
        contact["email"] = address.email
    kind = "private" if address.residential else "business"
    return {"postalAddress": postal, "contactInformation": contact, "typeCode": kind}


def shipment_request(request: LabelRequest, config: DhlExpressConfig, now: datetime
                     ) -> dict[str, Any]:
    """POST /shipments: one waybill, one piece per parcel, one label document per piece."""
    if request.format not in ENCODINGS:
        raise reject("unsupported_format",
                     f"DHL Express labels come as PDF or ZPL, not {request.format.value}")
    if not re.fullmatch(r"[A-Z0-9]{1,6}", request.service):
        raise reject("unsupported_service",
                     f"{request.service!r} is not a DHL Express global product code")
    if customs_declarable(request.ship_from, request.ship_to):
        raise reject("customs_data_required",
                     f"DHL Express needs a customs declaration from {request.ship_from.country} "
                     f"to {request.ship_to.country}; labels with customs data are not "
                     "supported yet")
    packages = [_package(parcel) for parcel in request.parcels]
    body: dict[str, Any] = {
        "plannedShippingDateAndTime": planned_shipping(now, config.zone),
        "pickup": {"isRequested": False},
        "productCode": request.service,
        "getRateEstimates": True,  # returns shipmentCharges, our Label.charge
        "accounts": _account(config),
        "outputImageProperties": {
            "encodingFormat": ENCODINGS[request.format],
            "imageOptions": [{"typeCode": "label", "templateName": config.label_template}],
            # one transport label document per piece, tagged with packageReferenceNumber
            "splitTransportAndWaybillDocLabels": True,
            "allDocumentsInOneImage": False,
            "splitDocumentsByPages": True,
        },
        "customerDetails": {"shipperDetails": _party(request.ship_from, "shipper"),
                            "receiverDetails": _party(request.ship_to, "receiver")},
        "content": {
            "packages": packages,
            "isCustomsDeclarable": False,
            "description": config.content_description,
            "incoterm": config.incoterm,
            "unitOfMeasurement": "metric",
        },
    }
    if request.reference:
        body["customerReferences"] = [{"value": request.reference, "typeCode": "CU"}]
    return body


def _charge(body: Mapping[str, Any]) -> tuple[Decimal, str]:
    return _price(body.get("shipmentCharges")) or (Decimal("0.00"), NO_CURRENCY)


def parse_label(body: Mapping[str, Any], request: LabelRequest, *, label_id: str,
                account: str, created_at: datetime) -> Label:
    waybill = str(body["shipmentTrackingNumber"])
    documents = [d for d in body.get("documents") or [] if d.get("typeCode") == "label"]
    if not documents:
        raise CarrierUnavailable(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="label_missing",
            message=f"DHL Express created waybill {waybill} but sent no label document")])
    by_piece = {d["packageReferenceNumber"]: str(d["content"]) for d in documents
                if d.get("packageReferenceNumber") is not None}
    pieces = sorted(body.get("packages") or [{"trackingNumber": waybill}],
                    key=lambda piece: int(piece.get("referenceNumber") or 0))
    packages = []
    for index, piece in enumerate(pieces):
        content = by_piece.get(piece.get("referenceNumber"))
        if content is None:  # untagged: one document per piece in order, else one for all
            content = str(documents[index if len(documents) == len(pieces) else 0]["content"])
        packages.append(PackageLabel(tracking_number=str(piece["trackingNumber"]),
                                     data=content))
    charge, currency = _charge(body)
    return Label(id=label_id, carrier=CARRIER, carrier_account=account,
                 service=request.service, tracking_number=waybill, format=request.format,
                 packages=packages, charge=charge, currency=currency, created_at=created_at)


def void_unsupported(tracking_number: str) -> CapabilityMissing:
    """MyDHL API 3.1.1 has no operation that cancels a shipment (only pickups)."""
    return CapabilityMissing(CARRIER, [CarrierMessage(
        carrier=CARRIER, code="void_unsupported",
        message=f"DHL Express waybill {tracking_number} cannot be voided through the MyDHL "
                "API; ask DHL Express customer service to cancel it")])


# --- tracking --------------------------------------------------------------------------

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


# --- errors ----------------------------------------------------------------------------

def _coded(text: str, fallback: str) -> CarrierMessage:
    match = _CODED.match(text)
    if match:
        return CarrierMessage(carrier=CARRIER, code=match.group(1),
                              message=" ".join(match.group(2).split()))
    return CarrierMessage(carrier=CARRIER, code=fallback, message=" ".join(text.split()))


def error_messages(status: int, body: Any) -> list[CarrierMessage]:
    """Problem-like ``{"instance", "detail", "title", "message", "status",
    "additionalDetails": ["7120: …", …]}``; codes come from the ``NNNN:`` prefixes."""
    if not isinstance(body, Mapping):
        return []
    fallback = str(body.get("status") or body.get("code") or f"http_{status}")
    details = [str(d) for d in body.get("additionalDetails") or [] if d]
    if details:
        return [_coded(detail, fallback) for detail in details]
    text = body.get("detail") or body.get("message") or body.get("title")
    return [_coded(str(text), fallback)] if text else []
