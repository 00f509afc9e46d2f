"""Pure UPS mapping: unified models to UPS JSON payloads and UPS replies back to unified models.

Field names follow the UPS-API OpenAPI documents (Rating and Shipping ``v2409``,
Tracking ``v1``, OAuthClientCredentials). Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from carriers.adapters.ups.config import UPSConfig
from carriers.adapters.ups.services import code_for_service, service_for_code, tracking_status
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

CARRIER = "ups"
RATE_LIMITED = "10429"
# GIF, EPL and SPL are what UPS prints besides ZPL; none of them is a LabelFormat of ours
LABEL_FORMATS: frozenset[LabelFormat] = frozenset({LabelFormat.ZPL})

_KG_PER_LB = Decimal("0.45359237")
_CM_PER_IN = Decimal("2.54")
_IMPERIAL_ORIGINS = frozenset({"US", "PR"})


class UnexpectedReply(ValueError):
    """A 2xx UPS body without the fields its documented shape promises."""


# ---- requests -------------------------------------------------------------------------


def token_form() -> dict[str, str]:
    return {"grant_type": "client_credentials"}


def rate_request(request: RateRequest, config: UPSConfig) -> dict[str, Any]:
    """RateRequest for ``/api/rating/{version}/Shop?additionalinfo=timeintransit``."""
    shipment: dict[str, Any] = {
        "Shipper": {
            **_party(request.ship_from),
            "ShipperNumber": config.shipper_number,
        },
        "ShipTo": _party(request.ship_to, residential_flag=True),
        "ShipFrom": _party(request.ship_from),
        "PaymentDetails": _payment(config),
        "NumOfPieces": str(len(request.parcels)),
        "Package": _packages(request.parcels, request.ship_from.country,
                             type_key="PackagingType"),
        # "03" = non-document; required for the time-in-transit part of the answer
        "DeliveryTimeInformation": {"PackageBillType": "03"},
    }
    if config.negotiated_rates:
        shipment["ShipmentRatingOptions"] = {"NegotiatedRatesIndicator": "Y"}
    return {"RateRequest": {
        "Request": {"TransactionReference": {"CustomerContext": request.warehouse}},
        "Shipment": shipment,
    }}


def ship_request(request: LabelRequest, config: UPSConfig, label_id: str) -> dict[str, Any]:
    """ShipmentRequest for ``/api/shipments/{version}/ship``; rejects what UPS cannot print."""
    if request.format not in LABEL_FORMATS:
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="label_format_unsupported",
            message=f"UPS labels are available as zpl only (UPS renders no pdf or png); "
                    f"{request.format.value} was requested")])
    code = code_for_service(request.service)
    if code is None:
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="unknown_service",
            message=f"{request.service!r} is not a UPS service")])
    packages = _packages(request.parcels, request.ship_from.country, type_key="Packaging")
    shipment: dict[str, Any] = {
        "Shipper": {
            **_party(request.ship_from, contact=True),
            "ShipperNumber": config.shipper_number,
        },
        "ShipTo": _party(request.ship_to, contact=True, residential_flag=True),
        "ShipFrom": _party(request.ship_from, contact=True),
        "PaymentInformation": _payment(config),
        "Service": {"Code": code},
        "Package": packages,
    }
    if config.negotiated_rates:
        shipment["ShipmentRatingOptions"] = {"NegotiatedRatesIndicator": "Y"}
    if request.reference:
        # UPS takes package-level references only within the US (or PR), shipment-level elsewhere
        reference = [{"Value": request.reference}]
        domestic = {request.ship_from.country, request.ship_to.country}
        if domestic in ({"US"}, {"PR"}):
            for package in packages:
                package["ReferenceNumber"] = reference
        else:
            shipment["ReferenceNumber"] = reference
    height = config.label_stock.split("x")[1]
    return {"ShipmentRequest": {
        "Request": {"RequestOption": "nonvalidate",
                    "TransactionReference": {"CustomerContext": label_id}},
        "Shipment": shipment,
        "LabelSpecification": {
            "LabelImageFormat": {"Code": "ZPL"},
            "LabelStockSize": {"Height": height, "Width": "4"},
        },
    }}


def void_target(label: Label) -> str:
    """UPS voids by shipment identification number; the master 1Z serves when it is unknown."""
    return label.carrier_shipment_id or label.tracking_number


def _payment(config: UPSConfig) -> dict[str, Any]:
    return {"ShipmentCharge": [
        {"Type": "01", "BillShipper": {"AccountNumber": config.shipper_number}},
    ]}


def _party(address: Address, *, contact: bool = False,
           residential_flag: bool = False) -> dict[str, Any]:
    lines = {
        "AddressLine": [line[:35] for line in address.street],
        "City": address.city[:30],
        "PostalCode": address.postal_code,
        "CountryCode": address.country,
    }
    if address.state:
        lines["StateProvinceCode"] = address.state
    if residential_flag and address.residential:
        lines["ResidentialAddressIndicator"] = "Y"
    party: dict[str, Any] = {"Name": (address.company or address.name)[:35], "Address": lines}
    if contact:
        party["AttentionName"] = address.name[:35]
        if address.phone:
            party["Phone"] = {"Number": address.phone}
        if address.email:
            party["EMailAddress"] = address.email
    return party


def _packages(parcels: list[Parcel], origin: str, *, type_key: str) -> list[dict[str, Any]]:
    """UPS takes LBS/IN from US and Puerto Rico origins and KGS/CM elsewhere."""
    metric = origin not in _IMPERIAL_ORIGINS
    weight_unit = WeightUnit.KG if metric else WeightUnit.LB
    out = []
    for parcel in parcels:
        package: dict[str, Any] = {
            # "02" = customer-supplied package
            type_key: {"Code": "02"},
            "PackageWeight": {
                "UnitOfMeasurement": {"Code": "KGS" if metric else "LBS"},
                "Weight": _plain(_weight(parcel, weight_unit)),
            },
        }
        if parcel.dimensions:
            unit = DimensionUnit.CM if metric else DimensionUnit.IN
            d = parcel.dimensions
            package["Dimensions"] = {
                "UnitOfMeasurement": {"Code": unit.value.upper()},
                "Length": _plain(_length(d.length, d.unit, unit)),
                "Width": _plain(_length(d.width, d.unit, unit)),
                "Height": _plain(_length(d.height, d.unit, unit)),
            }
        out.append(package)
    return out


def _weight(parcel: Parcel, unit: WeightUnit) -> Decimal:
    value = parcel.weight
    if parcel.weight_unit is not unit:
        value = value / _KG_PER_LB if unit is WeightUnit.LB else value * _KG_PER_LB
    # round up: declaring less than the scale shows earns an adjustment charge
    return value.quantize(Decimal("0.1"), rounding=ROUND_CEILING)


def _length(value: Decimal, have: DimensionUnit, want: DimensionUnit) -> Decimal:
    if have is not want:
        value = value / _CM_PER_IN if want is DimensionUnit.IN else value * _CM_PER_IN
    return value.quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def _plain(value: Decimal) -> str:
    """``12.50`` → ``12.5``, ``10.0`` → ``10``; never exponent notation."""
    return format(value.normalize(), "f")


# ---- replies --------------------------------------------------------------------------


def parse_token(body: Any) -> tuple[str, float]:
    """``access_token`` plus ``expires_in`` (UPS sends the seconds as a string)."""
    try:
        return str(body["access_token"]), float(body["expires_in"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply("UPS token reply lacks access_token/expires_in") from exc


def parse_rates(body: Any, account: str) -> list[Rate]:
    """One Rate per RatedShipment; services without a usable charge are dropped."""
    rated = _dig(body, "RateResponse", "RatedShipment")
    if rated is None:
        raise UnexpectedReply("UPS rate reply lacks RateResponse.RatedShipment")
    rates = []
    for shipment in _as_list(rated):
        code = _text(_dig(shipment, "Service", "Code"))
        charge = (_money(_dig(shipment, "NegotiatedRateCharges", "TotalCharge"))
                  or _money(shipment.get("TotalCharges")))
        if not code or charge is None:
            continue
        service = service_for_code(code)
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=service.slug,
            service_level=service.level, amount=charge[0], currency=charge[1],
            estimated_transit_days=_transit_days(shipment),
        ))
    return rates


def parse_label(body: Any, request: LabelRequest, *, label_id: str, account: str,
                created_at: datetime) -> Label:
    results = _dig(body, "ShipmentResponse", "ShipmentResults")
    if not isinstance(results, dict):
        raise UnexpectedReply("UPS ship reply lacks ShipmentResponse.ShipmentResults")
    packages = []
    # PackageResults is a list from v2403 on, a bare object for one package before that
    for result in _as_list(results.get("PackageResults")):
        tracking = _text(result.get("TrackingNumber"))
        image = _text(_dig(result, "ShippingLabel", "GraphicImage"))
        if not tracking or not image:
            raise UnexpectedReply("UPS package result without tracking number or label")
        packages.append(PackageLabel(tracking_number=tracking, data=image))
    if not packages:
        raise UnexpectedReply("UPS ship reply holds no PackageResults")
    charge = (_money(_dig(results, "NegotiatedRateCharges", "TotalCharge"))
              or _money(_dig(results, "ShipmentCharges", "TotalCharges")))
    if charge is None:
        raise UnexpectedReply("UPS ship reply holds no shipment charges")
    code = code_for_service(request.service) or request.service
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account,
        service=service_for_code(code).slug, tracking_number=packages[0].tracking_number,
        format=request.format, packages=packages, charge=charge[0], currency=charge[1],
        carrier_shipment_id=_text(results.get("ShipmentIdentificationNumber")) or None,
        created_at=created_at,
    )


def parse_void(body: Any, label: Label) -> VoidResult:
    status = _dig(body, "VoidShipmentResponse", "SummaryResult", "Status")
    if not isinstance(status, dict):
        raise UnexpectedReply("UPS void reply lacks SummaryResult.Status")
    voided = _text(status.get("Code")) == "1"
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=voided,
                      message=None if voided else (_text(status.get("Description")) or None))


def void_refusal(messages: Iterable[CarrierMessage], label: Label) -> VoidResult:
    """A 4xx answer to a void (too late, already voided, unknown shipment) is a refusal."""
    text = "; ".join(f"{m.code}: {m.message}" for m in messages)
    return VoidResult(carrier=CARRIER, tracking_number=label.tracking_number, voided=False,
                      message=text or "UPS refused to void the shipment")


def parse_tracking(body: Any, tracking_number: str) -> Tracking:
    shipments = _as_list(_dig(body, "trackResponse", "shipment"))
    if not shipments:
        raise UnexpectedReply("UPS tracking reply lacks trackResponse.shipment")
    shipment = shipments[0]
    packages = _as_list(shipment.get("package"))
    if not packages:
        # UPS answers 200 with warnings (e.g. TW0001) for numbers it does not know
        messages = [CarrierMessage(carrier=CARRIER, code=_text(w.get("code")) or "warning",
                                   message=_text(w.get("message")) or "no tracking data")
                    for w in _as_list(shipment.get("warnings"))]
        raise CarrierRejected(CARRIER, messages or [CarrierMessage(
            carrier=CARRIER, code="not_found", message=f"no UPS tracking for {tracking_number}")])
    package = packages[0]
    events = [event for activity in _as_list(package.get("activity"))
              if isinstance(activity, dict) and (event := _event(activity)) is not None]
    events.sort(key=lambda e: e.occurred_at, reverse=True)
    current = package.get("currentStatus") or {}
    status = (tracking_status(current.get("type"), current.get("statusCode"))
              if current else TrackingStatus.UNKNOWN)
    if status is TrackingStatus.UNKNOWN and events:
        status = events[0].status
    return Tracking(
        carrier=CARRIER,
        tracking_number=_text(package.get("trackingNumber")) or tracking_number,
        status=status, estimated_delivery=_estimated_delivery(package), events=events,
    )


def parse_errors(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    """``{"response": {"errors": [{"code", "message"}]}}`` into messages (ErrorParser)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = _dig(body, "response", "errors")
    return [CarrierMessage(carrier=carrier, code=_text(e.get("code")) or "error",
                           message=_text(e.get("message")) or "UPS error")
            for e in _as_list(errors) if isinstance(e, dict)]


def is_rate_limited(messages: Iterable[CarrierMessage]) -> bool:
    return any(m.code == RATE_LIMITED for m in messages)


def _event(activity: dict[str, Any]) -> TrackingEvent | None:
    occurred = _timestamp(activity.get("date"), activity.get("time"), activity.get("gmtOffset"))
    if occurred is None:
        return None
    status = activity.get("status") or {}
    address = _dig(activity, "location", "address") or {}
    place = ", ".join(p for p in (_text(address.get("city")), _text(address.get("stateProvince")),
                                  _text(address.get("countryCode"))) if p)
    return TrackingEvent(
        occurred_at=occurred,
        status=tracking_status(status.get("type"), status.get("statusCode")),
        description=_text(status.get("description")) or _text(status.get("type")) or "update",
        location=place or None,
        carrier_code=_text(status.get("code")) or None,
    )


def _timestamp(day: Any, clock: Any, offset: Any) -> datetime | None:
    """UPS local ``YYYYMMDD`` + ``HHMMSS`` with the ``gmtOffset`` (``-05:00``) when present."""
    day, clock = _text(day), _text(clock).ljust(6, "0")
    try:
        moment = datetime.strptime(day + clock[:6], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=_offset(_text(offset)))


def _offset(text: str) -> timezone:
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text.lstrip("+-").partition(":")
    if not hours.isdigit():
        return UTC
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


def _estimated_delivery(package: dict[str, Any]) -> date | None:
    dates = {_text(d.get("type")): _text(d.get("date"))
             for d in _as_list(package.get("deliveryDate")) if isinstance(d, dict)}
    # rescheduled beats scheduled; DEL is the actual delivery date, not an estimate
    for kind in ("RDD", "SDD"):
        if dates.get(kind):
            try:
                return datetime.strptime(dates[kind], "%Y%m%d").date()
            except ValueError:
                continue
    return None


def _transit_days(shipment: dict[str, Any]) -> int | None:
    for path in (("GuaranteedDelivery", "BusinessDaysInTransit"),
                 ("TimeInTransit", "ServiceSummary", "EstimatedArrival", "BusinessDaysInTransit")):
        value = _text(_dig(shipment, *path))
        if value.isdigit():
            return int(value)
    return None


def _money(node: Any) -> tuple[Decimal, str] | None:
    if not isinstance(node, dict):
        return None
    try:
        amount = Decimal(_text(node.get("MonetaryValue")))
    except InvalidOperation:
        return None
    currency = _text(node.get("CurrencyCode")).upper()
    if not amount.is_finite() or amount < 0 or len(currency) != 3:
        return None
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), currency


def _text(value: Any) -> str:
    # the CIE void endpoint has been seen to pad values with "&#xD;" (UPS-API #63)
    return "" if value is None else str(value).replace("&#xD;", "").strip()


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
