"""Pure FedEx mapping: unified models to FedEx REST payloads and FedEx replies back.

Field names follow FedEx's published OpenAPI documents for Rates and Transit Times
(``/rate/v1``), Ship (``/ship/v1``) and Track (``/track/v1``). Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from carriers.adapters.fedex.config import FedExConfig
from carriers.adapters.fedex.services import (
    service_id,
    service_level,
    service_type,
    tracking_status,
)
from carriers.base import CarrierRejected
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
    Tracking,
    TrackingEvent,
    TrackingStatus,
    VoidResult,
    WeightUnit,
)

CARRIER = "fedex"
IMAGE_TYPES = {LabelFormat.PDF: "PDF", LabelFormat.PNG: "PNG", LabelFormat.ZPL: "ZPLII"}
# our parcels are the shipper's own boxes; sending another packaging type together with
# dimensions makes FedEx answer "no service" (karrio #159)
PACKAGING = "YOUR_PACKAGING"

_KG_PER_LB = Decimal("0.45359237")
_CM_PER_IN = Decimal("2.54")
_IMPERIAL_ORIGINS = frozenset({"US", "PR"})
_DAYS = {word: n for n, word in enumerate(
    ("ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN",
     "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN",
     "NINETEEN", "TWENTY"), start=1)}


class UnexpectedReply(ValueError):
    """A 2xx FedEx body without the fields its documented shape promises."""


# ---- requests -------------------------------------------------------------------------


def token_form(config: FedExConfig) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": config.client_id.get_secret_value(),
        "client_secret": config.client_secret.get_secret_value(),
    }


def rate_request(request: RateRequest, config: FedExConfig) -> dict[str, Any]:
    """Body for ``POST /rate/v1/rates/quotes`` without a serviceType: all services rate."""
    return {
        "accountNumber": {"value": config.account_number},
        "rateRequestControlParameters": {"returnTransitTimes": True},
        "requestedShipment": {
            "shipper": {"address": _address(request.ship_from)},
            "recipient": {"address": _address(request.ship_to)},
            "pickupType": config.pickup_type,
            "packagingType": PACKAGING,
            "rateRequestType": ["ACCOUNT", "LIST"],
            "totalPackageCount": len(request.parcels),
            "requestedPackageLineItems": _line_items(request.parcels, request.ship_from.country),
        },
    }


def ship_request(request: LabelRequest, config: FedExConfig) -> dict[str, Any]:
    """Body for ``POST /ship/v1/shipments``: one multi-piece shipment, labels inline."""
    kind = service_type(request.service)
    if kind is None:
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="unknown_service",
            message=f"{request.service!r} is not a FedEx service type")])
    items = _line_items(request.parcels, request.ship_from.country)
    if request.reference:
        for item in items:
            item["customerReferences"] = [
                {"customerReferenceType": "CUSTOMER_REFERENCE", "value": request.reference}]
    thermal = request.format is LabelFormat.ZPL
    return {
        "labelResponseOptions": "LABEL",
        "accountNumber": {"value": config.account_number},
        "requestedShipment": {
            "shipper": _party(request.ship_from),
            "recipients": [_party(request.ship_to)],
            "serviceType": kind,
            "packagingType": PACKAGING,
            "pickupType": config.pickup_type,
            "shippingChargesPayment": {"paymentType": "SENDER"},
            "labelSpecification": {
                "imageType": IMAGE_TYPES[request.format],
                "labelStockType": (config.thermal_label_stock if thermal
                                   else config.paper_label_stock),
            },
            # FedEx documents totalWeight in pounds whatever the package units
            "totalWeight": float(sum((_weight(p, WeightUnit.LB) for p in request.parcels),
                                     Decimal(0))),
            "totalPackageCount": len(request.parcels),
            "requestedPackageLineItems": items,
        },
    }


def cancel_request(label: Label, config: FedExConfig) -> dict[str, Any]:
    """Body for ``PUT /ship/v1/shipments/cancel``; the master number voids every piece."""
    return {
        "accountNumber": {"value": config.account_number},
        "trackingNumber": label.tracking_number,
        "deletionControl": "DELETE_ALL_PACKAGES",
    }


def track_request(tracking_number: str) -> dict[str, Any]:
    return {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": tracking_number}}],
    }


def _address(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {
        "streetLines": list(address.street),
        "city": address.city,
        "postalCode": address.postal_code,
        "countryCode": address.country,
        "residential": address.residential,
    }
    if address.state:
        out["stateOrProvinceCode"] = address.state
    return out


def _party(address: Address) -> dict[str, Any]:
    contact = {"personName": address.name, "companyName": address.company,
               "phoneNumber": address.phone, "emailAddress": address.email}
    return {"contact": {k: v for k, v in contact.items() if v},
            "address": _address(address)}


def _line_items(parcels: list[Parcel], origin: str) -> list[dict[str, Any]]:
    """One unit system per shipment: LB/IN from US and Puerto Rico origins, KG/CM elsewhere."""
    weight_unit = WeightUnit.LB if origin in _IMPERIAL_ORIGINS else WeightUnit.KG
    length_unit = DimensionUnit.CM if weight_unit is WeightUnit.KG else DimensionUnit.IN
    items = []
    for number, parcel in enumerate(parcels, start=1):
        item: dict[str, Any] = {
            "sequenceNumber": number,
            "weight": {"units": weight_unit.value.upper(),
                       "value": float(_weight(parcel, weight_unit))},
        }
        if parcel.dimensions:
            d = parcel.dimensions
            item["dimensions"] = {
                "length": _length(d.length, d.unit, length_unit),
                "width": _length(d.width, d.unit, length_unit),
                "height": _length(d.height, d.unit, length_unit),
                "units": length_unit.value.upper(),
            }
        items.append(item)
    return items


def _weight(parcel: Parcel, unit: WeightUnit) -> Decimal:
    value = parcel.weight
    if parcel.weight_unit is not unit:
        value = value / _KG_PER_LB if unit is WeightUnit.LB else value * _KG_PER_LB
    # round up: declaring less than the scale shows earns an adjustment charge
    return value.quantize(Decimal("0.1"), rounding=ROUND_CEILING)


def _length(value: Decimal, have: DimensionUnit, want: DimensionUnit) -> int:
    if have is not want:
        value = value / _CM_PER_IN if want is DimensionUnit.IN else value * _CM_PER_IN
    # FedEx takes whole numbers only
    return int(value.to_integral_value(rounding=ROUND_CEILING))


# ---- replies --------------------------------------------------------------------------


def parse_token(body: Any) -> tuple[str, float]:
    try:
        return str(body["access_token"]), float(body["expires_in"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply("FedEx token reply lacks access_token/expires_in") from exc


def parse_rates(body: Any, account: str) -> list[Rate]:
    """One Rate per rateReplyDetail, from the ACCOUNT (negotiated) rate when there is one."""
    details = _dig(body, "output", "rateReplyDetails")
    if not isinstance(details, list):
        raise UnexpectedReply("FedEx rate reply lacks output.rateReplyDetails")
    rates = []
    for detail in details:
        kind = _text(_dig(detail, "serviceType"))
        rated = _pick_rated(_as_list(_dig(detail, "ratedShipmentDetails")))
        amount = _amount(_dig(rated, "totalNetCharge"))
        currency = _currency(_dig(rated, "currency"), _dig(rated, "shipmentRateDetail", "currency"))
        if not kind or amount is None or currency is None:
            continue
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=service_id(kind),
            service_level=service_level(kind), amount=amount, currency=currency,
            estimated_transit_days=_transit_days(detail),
        ))
    return rates


def parse_label(body: Any, request: LabelRequest, config: FedExConfig, *, label_id: str,
                account: str, created_at: datetime) -> Label:
    shipments = _as_list(_dig(body, "output", "transactionShipments"))
    if not shipments or not isinstance(shipments[0], dict):
        raise UnexpectedReply("FedEx ship reply lacks output.transactionShipments")
    shipment = shipments[0]
    pieces = [p for p in _as_list(shipment.get("pieceResponses")) if isinstance(p, dict)]
    loose = [d for d in _as_list(shipment.get("shipmentDocuments")) if isinstance(d, dict)]
    packages = []
    for piece in pieces:
        tracking = _text(piece.get("trackingNumber"))
        documents = _as_list(piece.get("packageDocuments"))
        # single-piece replies have been seen to carry the label among shipmentDocuments
        if len(pieces) == 1:
            documents = documents + loose
        image = _label_image(documents, tracking)
        if not tracking or not image:
            raise UnexpectedReply("FedEx piece without tracking number or encoded label")
        packages.append(PackageLabel(tracking_number=tracking, data=image))
    if not packages:
        raise UnexpectedReply("FedEx ship reply holds no pieceResponses")
    master = _text(shipment.get("masterTrackingNumber")) or packages[0].tracking_number
    charge, currency = _label_charge(shipment, pieces, config.default_currency)
    kind = _text(shipment.get("serviceType")) or service_type(request.service) or request.service
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account, service=service_id(kind),
        tracking_number=master, format=request.format, packages=packages, charge=charge,
        currency=currency, created_at=created_at,
    )


def parse_cancel(body: Any, label: Label) -> VoidResult:
    output = _dig(body, "output")
    if not isinstance(output, dict) or "cancelledShipment" not in output:
        raise UnexpectedReply("FedEx cancel reply lacks output.cancelledShipment")
    voided = output.get("cancelledShipment") is True
    notes = [_text(output.get("message"))] + [
        _text(a.get("message")) for a in _as_list(output.get("alerts")) if isinstance(a, dict)]
    message = "; ".join(n for n in notes if n) or None
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=voided,
                      message=None if voided else message)


def void_refusal(messages: Iterable[CarrierMessage], label: Label) -> VoidResult:
    """A 4xx answer to a cancel (already tendered, unknown number) is a refusal."""
    text = "; ".join(f"{m.code}: {m.message}" for m in messages)
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=False,
                      message=text or "FedEx refused to cancel the shipment")


def parse_tracking(body: Any, tracking_number: str) -> Tracking:
    complete = _as_list(_dig(body, "output", "completeTrackResults"))
    results = _as_list(_dig(complete[0], "trackResults")) if complete else []
    if not results or not isinstance(results[0], dict):
        raise UnexpectedReply("FedEx tracking reply lacks completeTrackResults[].trackResults")
    result = results[0]
    error = result.get("error")
    if isinstance(error, dict):
        # FedEx answers 200 and puts "not found" inside the result
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code=_text(error.get("code")) or "not_found",
            message=_text(error.get("message")) or f"no FedEx tracking for {tracking_number}")])
    events = [event for scan in _as_list(result.get("scanEvents"))
              if isinstance(scan, dict) and (event := _event(scan)) is not None]
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    latest = result.get("latestStatusDetail") or {}
    status = tracking_status(latest.get("derivedCode"), latest.get("code"))
    if status is TrackingStatus.UNKNOWN and events:
        status = events[0].status
    number = _text(_dig(result, "trackingNumberInfo", "trackingNumber")) or tracking_number
    return Tracking(carrier=CARRIER, tracking_number=number, status=status,
                    estimated_delivery=_estimated_delivery(result), events=events)


def parse_errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    """``{"transactionId", "errors": [{"code", "message"}]}`` into messages (ErrorParser)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    return [CarrierMessage(carrier=carrier, code=_text(e.get("code")) or "error",
                           message=_text(e.get("message")) or "FedEx error")
            for e in _as_list(_dig(body, "errors")) if isinstance(e, dict)]


def _pick_rated(rated: list[Any]) -> dict[str, Any] | None:
    by_type = {_text(r.get("rateType")): r for r in rated if isinstance(r, dict)}
    for kind in ("ACCOUNT", "LIST"):
        if kind in by_type:
            return by_type[kind]
    return next(iter(by_type.values()), None)


def _label_charge(shipment: dict[str, Any], pieces: list[dict[str, Any]],
                  default_currency: str) -> tuple[Decimal, str]:
    rating = _dig(shipment, "completedShipmentDetail", "shipmentRating") or {}
    details = [d for d in _as_list(rating.get("shipmentRateDetails")) if isinstance(d, dict)]
    actual = _text(rating.get("actualRateType"))
    chosen = next((d for d in details if _text(d.get("rateType")) == actual),
                  details[0] if details else None)
    amount = _amount(_dig(chosen, "totalNetCharge"))
    if amount is not None:
        return amount, _currency(_dig(chosen, "currency")) or default_currency
    # no shipment rating (some accounts get none): add up what the pieces report
    total = sum((a for p in pieces if (a := _amount(p.get("netChargeAmount"))) is not None),
                Decimal("0.00"))
    return total, default_currency


def _label_image(documents: list[Any], tracking: str) -> str:
    labels = [d for d in documents if isinstance(d, dict) and d.get("encodedLabel")
              and _text(d.get("contentType") or "LABEL") == "LABEL"]
    own = [d for d in labels if _text(d.get("trackingNumber")) in ("", tracking)]
    chosen = (own or labels or [{}])[0]
    return _text(chosen.get("encodedLabel"))


def _transit_days(detail: dict[str, Any]) -> int | None:
    for path in (("commit", "daysInTransit"), ("operationalDetail", "transitTime"),
                 ("commit", "transitDays", "minimumTransitTime")):
        word = _text(_dig(detail, *path)).upper().removesuffix("_DAYS").removesuffix("_DAY")
        if word in _DAYS:
            return _DAYS[word]
    return None


def _event(scan: dict[str, Any]) -> TrackingEvent | None:
    occurred = _iso(scan.get("date"))
    if occurred is None:
        return None
    location = scan.get("scanLocation") or {}
    place = ", ".join(p for p in (_text(location.get("city")),
                                  _text(location.get("stateOrProvinceCode")),
                                  _text(location.get("countryCode"))) if p)
    description = _text(scan.get("eventDescription")) or _text(scan.get("derivedStatus"))
    exception = _text(scan.get("exceptionDescription"))
    if exception:
        description = f"{description}: {exception}" if description else exception
    return TrackingEvent(
        occurred_at=occurred,
        status=tracking_status(scan.get("derivedStatusCode"), scan.get("eventType")),
        description=description or "update",
        location=place or None,
        carrier_code=_text(scan.get("eventType")) or None,
    )


def _estimated_delivery(result: dict[str, Any]) -> date | None:
    for entry in _as_list(result.get("dateAndTimes")):
        if isinstance(entry, dict) and _text(entry.get("type")) == "ESTIMATED_DELIVERY":
            moment = _iso(entry.get("dateTime"))
            if moment:
                return moment.date()
    window = _dig(result, "estimatedDeliveryTimeWindow", "window") or {}
    moment = _iso(window.get("ends")) or _iso(window.get("begins"))
    return moment.date() if moment else None


def _iso(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    # FedEx stamps scans with their local offset; a bare stamp is taken as UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _amount(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _currency(*values: Any) -> str | None:
    for value in values:
        text = _text(value).upper()
        if len(text) == 3 and text.isalpha():
            return text
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _dig(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _as_list(node: Any) -> list[Any]:
    if node is None:
        return []
    return node if isinstance(node, list) else [node]
