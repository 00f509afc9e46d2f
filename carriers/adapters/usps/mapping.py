"""Pure mapping between the unified shipping models and the USPS v3 APIs.

Specs: USPS OpenAPI files for Shipping Options 3.1, Labels 3.9, Payments 3.1 and Tracking 3.2
(developers.usps.com) and the USPS/api-examples README. Nothing here does I/O.

Service levels, by mail class::

    USPS_GROUND_ADVANTAGE   ground       PRIORITY_MAIL           expedited
    PRIORITY_MAIL_EXPRESS   overnight    PARCEL_SELECT           ground
    USPS_CONNECT_LOCAL      overnight    USPS_CONNECT_REGIONAL   expedited
    MEDIA_MAIL, LIBRARY_MAIL, BOUND_PRINTED_MATTER               economy

Only domestic shipments (the US, its territories and the freely associated states, which
USPS addresses with ZIP Codes) are mapped: international labels need customs data that
``LabelRequest`` does not carry.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_UP, Decimal
from email.message import Message
from email.parser import BytesParser
from typing import Any

from carriers.adapters.usps.config import UspsConfig
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
    ServiceLevel,
    VoidResult,
    WeightUnit,
)

CARRIER = "usps"
CURRENCY = "USD"
# Accept value that makes POST /labels/v3/label answer JSON with base64 images, not multipart
LABEL_MEDIA_TYPE = "application/vnd.usps.labels+json"
# "Tokens are valid for eight hours after issuance" (Payments 3.0)
PAYMENT_TOKEN_SECONDS = 8 * 3600

SERVICE_LEVELS: Mapping[str, ServiceLevel] = {
    "USPS_GROUND_ADVANTAGE": ServiceLevel.GROUND,
    "PRIORITY_MAIL": ServiceLevel.EXPEDITED,
    "PRIORITY_MAIL_EXPRESS": ServiceLevel.OVERNIGHT,
    "PARCEL_SELECT": ServiceLevel.GROUND,
    "USPS_CONNECT_LOCAL": ServiceLevel.OVERNIGHT,
    "USPS_CONNECT_REGIONAL": ServiceLevel.EXPEDITED,
    "MEDIA_MAIL": ServiceLevel.ECONOMY,
    "LIBRARY_MAIL": ServiceLevel.ECONOMY,
    "BOUND_PRINTED_MATTER": ServiceLevel.ECONOMY,
}
# ISO codes that double as USPS state codes: territories and freely associated states
_TERRITORIES = frozenset({"PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"})
DOMESTIC = _TERRITORIES | {"US"}
# rate indicators of USPS-supplied packaging (flat rate, cubic, Connect bags): not our boxes
_PACKAGING_INDICATORS = frozenset({
    "CP", "E4", "E6", "FA", "FB", "FE", "FP", "FS", "LF", "LL", "LS", "PL", "PM",
    "P5", "P6", "P7", "P8", "P9", "Q6", "Q7", "Q8", "Q9", "Q0"})
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")
_DAYS = re.compile(r"^\s*(\d+)\s+days?\b", re.IGNORECASE)
_LB_PER_KG = Decimal("2.20462262185")
_CM_PER_IN = Decimal("2.54")
_CENT = Decimal("0.01")


def reject(code: str, message: str) -> CarrierRejected:
    return CarrierRejected(CARRIER, [CarrierMessage(carrier=CARRIER, code=code, message=message)])


# --- units and addresses ---------------------------------------------------------------

def pounds(parcel: Parcel) -> Decimal:
    weight = parcel.weight if parcel.weight_unit == WeightUnit.LB else parcel.weight * _LB_PER_KG
    return weight.quantize(_CENT, rounding=ROUND_UP)


def inches(parcel: Parcel) -> tuple[Decimal, Decimal, Decimal]:
    """Length, width, height in inches, longest first (USPS length is the longest side)."""
    if parcel.dimensions is None:
        raise reject("dimensions_required",
                     "USPS prices and labels need length, width and height for every parcel")
    dims = parcel.dimensions
    factor = Decimal(1) if dims.unit == DimensionUnit.IN else 1 / _CM_PER_IN
    sides = sorted((side * factor for side in (dims.length, dims.width, dims.height)),
                   reverse=True)
    length, width, height = (side.quantize(_CENT, rounding=ROUND_UP) for side in sides)
    return length, width, height


def zip_code(address: Address) -> tuple[str, str | None]:
    """(5-digit ZIP Code, ZIP+4 or None)."""
    match = _ZIP.match(address.postal_code.strip())
    if match is None:
        raise reject("invalid_zip_code",
                     f"USPS needs a 5-digit ZIP Code, got {address.postal_code!r}")
    return match.group(1), match.group(2)


def require_domestic(ship_from: Address, ship_to: Address) -> None:
    for role, address in (("origin", ship_from), ("destination", ship_to)):
        if address.country not in DOMESTIC:
            raise reject("unsupported_destination" if role == "destination" else
                         "unsupported_origin",
                         f"USPS {role} {address.country} is not domestic: this adapter only "
                         "ships within the US, its territories and freely associated states")


def _num(value: Decimal) -> float:
    return float(value)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(_CENT)


def _label_address(address: Address) -> dict[str, Any]:
    zip5, plus4 = zip_code(address)
    state = address.state or (address.country if address.country in _TERRITORIES else None)
    if not state:
        raise reject("state_required", "USPS labels need a two-letter state code")
    out: dict[str, Any] = {"streetAddress": address.street[0]}
    if len(address.street) > 1:
        out["secondaryAddress"] = " ".join(address.street[1:])
    out |= {"city": address.city, "state": state.upper(), "ZIPCode": zip5}
    if plus4:
        out["ZIPPlus4"] = plus4
    first, _, last = address.name.strip().rpartition(" ")
    if first:
        out |= {"firstName": first, "lastName": last}
    if address.company:
        out["firm"] = address.company
    elif not first:  # a single word is not a first and last name: print it as the firm
        out["firm"] = address.name
    phone = re.sub(r"\D", "", address.phone or "")
    if 6 <= len(phone) <= 15:
        out["phone"] = phone
    if address.email:
        out["email"] = address.email
    return out


# --- OAuth and payment authorization ---------------------------------------------------

def token_request(config: UspsConfig) -> dict[str, str]:
    """Client-credentials grant as the USPS examples send it: a JSON body."""
    return {"client_id": config.client_id.get_secret_value(),
            "client_secret": config.client_secret.get_secret_value(),
            "grant_type": "client_credentials"}


def parse_token(body: Mapping[str, Any]) -> tuple[str, float]:
    # USPS sends expires_in as a string in its examples
    return str(body["access_token"]), float(body["expires_in"])


def payment_authorization_request(config: UspsConfig) -> dict[str, Any]:
    ids = {"CRID": config.crid, "MID": config.mid, "manifestMID": config.manifest_mid}
    return {"roles": [
        {"roleName": "PAYER", **ids, "accountType": "EPS",
         "accountNumber": config.eps_account_number},
        {"roleName": "LABEL_OWNER", **ids},
    ]}


def parse_payment_token(body: Mapping[str, Any]) -> str:
    return str(body["paymentAuthorizationToken"])


# --- rates -----------------------------------------------------------------------------

def options_request(ship_from: Address, ship_to: Address, parcel: Parcel,
                    config: UspsConfig, mailing_date: date) -> dict[str, Any]:
    """POST /shipments/v3/options/search for one parcel, every outbound mail class at once."""
    require_domestic(ship_from, ship_to)
    length, width, height = inches(parcel)
    pricing: dict[str, Any] = {"priceType": config.price_type}
    if config.eps_account_number:
        pricing["paymentAccount"] = {"accountType": "EPS",
                                     "accountNumber": config.eps_account_number}
    return {
        "pricingOptions": [pricing],
        "originZIPCode": zip_code(ship_from)[0],
        "destinationZIPCode": zip_code(ship_to)[0],
        "destinationEntryFacilityType": "NONE",
        "packageDescription": {
            "weight": _num(pounds(parcel)),
            "length": _num(length), "width": _num(width), "height": _num(height),
            "mailClass": "ALL_OUTBOUND",
            "mailingDate": mailing_date.isoformat(),
        },
    }


def _option_price(option: Mapping[str, Any]) -> Decimal | None:
    """Price of a rate option we can ship in our own box, or None."""
    for rate in option.get("rates") or []:
        if rate.get("rateIndicator") in _PACKAGING_INDICATORS:
            return None
        if rate.get("destinationEntryFacilityType") not in (None, "", "NONE"):
            return None
    # totalPrice is only returned when extra services were requested
    price = option.get("totalPrice", option.get("totalBasePrice"))
    return None if price is None else _money(price)


def _transit_days(option: Mapping[str, Any]) -> int | None:
    match = _DAYS.match(str((option.get("commitment") or {}).get("name", "")))
    return int(match.group(1)) if match else None


def _cheapest_per_class(body: Mapping[str, Any]) -> dict[str, tuple[Decimal, int | None]]:
    best: dict[str, tuple[Decimal, int | None]] = {}
    for pricing in body.get("pricingOptions") or []:
        for shipping in pricing.get("shippingOptions") or []:
            mail_class = shipping.get("mailClass")
            for option in shipping.get("rateOptions") or []:
                price = _option_price(option)
                if mail_class and price is not None and (
                        mail_class not in best or price < best[mail_class][0]):
                    best[mail_class] = (price, _transit_days(option))
    return best


def parse_rates(bodies: Sequence[Mapping[str, Any]], account: str,
                mail_classes: Sequence[str]) -> list[Rate]:
    """One Rate per configured mail class that priced every parcel (one body per parcel)."""
    per_parcel = [_cheapest_per_class(body) for body in bodies]
    rates = []
    for mail_class in mail_classes:
        quotes = [parcel[mail_class] for parcel in per_parcel if mail_class in parcel]
        if not quotes or len(quotes) != len(per_parcel):
            continue
        days = [d for _, d in quotes if d is not None]
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=mail_class,
            service_level=SERVICE_LEVELS[mail_class],
            amount=sum((price for price, _ in quotes), Decimal(0)), currency=CURRENCY,
            estimated_transit_days=max(days) if len(days) == len(quotes) else None))
    return rates


# --- labels ----------------------------------------------------------------------------

def image_type(fmt: LabelFormat, config: UspsConfig) -> str:
    if fmt == LabelFormat.ZPL:
        if config.label_size == "2X7LABEL":
            raise reject("unsupported_format", "USPS offers no ZPL for the 2X7LABEL size")
        return f"ZPL{config.zpl_dpi}DPI"
    return "PDF" if fmt == LabelFormat.PDF else "PNG"


def label_requests(request: LabelRequest, config: UspsConfig,
                   mailing_date: date) -> list[dict[str, Any]]:
    """POST /labels/v3/label bodies, one per parcel: USPS has no multi-piece shipments."""
    require_domestic(request.ship_from, request.ship_to)
    if request.service not in SERVICE_LEVELS:
        raise reject("unsupported_service",
                     f"USPS mail class {request.service!r} is not one of "
                     f"{', '.join(SERVICE_LEVELS)}")
    to_address, from_address = _label_address(request.ship_to), _label_address(request.ship_from)
    image: dict[str, Any] = {"imageType": image_type(request.format, config),
                             "labelType": config.label_size, "receiptOption": "NONE"}
    bodies = []
    total = len(request.parcels)
    for number, parcel in enumerate(request.parcels, start=1):
        length, width, height = inches(parcel)
        package: dict[str, Any] = {
            "mailClass": request.service,
            # customer packaging: USPS works out the rate indicator itself
            "packagingType": "VARIABLE", "shape": "RECTANGULAR",
            "processingCategory": "MACHINABLE",
            "destinationEntryFacilityType": "NONE",
            "weightUOM": "lb", "weight": _num(pounds(parcel)),
            "dimensionsUOM": "in",
            "length": _num(length), "width": _num(width), "height": _num(height),
            "mailingDate": mailing_date.isoformat(),
        }
        if request.reference:
            package["customerReference"] = [
                {"referenceNumber": request.reference[:30], "printReferenceNumber": True}]
        parcel_image = dict(image)
        # "1 of 3" is not printed on the 2x7 and 4x4 formats
        if total > 1 and config.label_size not in ("2X7LABEL", "4X4LABEL"):
            parcel_image |= {"packageNumber": number, "totalPackages": total}
        bodies.append({"imageInfo": parcel_image, "toAddress": to_address,
                       "fromAddress": from_address, "packageDescription": package})
    return bodies


def idempotency_key(account: str, label_id: str, index: int) -> str:
    """X-Idempotency-Key for one parcel: a resent identical request returns the same label."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"usps:{account}:{label_id}:{index}"))


@dataclass(frozen=True)
class LabelPart:
    tracking_number: str
    data: str  # base64 label image
    charge: Decimal


def _label_charge(meta: Mapping[str, Any]) -> Decimal:
    # postage excludes extra services; fees are added as in Shipping Options, where
    # totalBasePrice = price + fees (that labels follow the same rule is unverified)
    extras = [*(meta.get("extraServices") or []), *(meta.get("fees") or [])]
    return _money(meta.get("postage", 0)) + sum(
        (_money(item.get("price", 0)) for item in extras), Decimal(0))


def _multipart(content_type: str, content: bytes) -> tuple[Mapping[str, Any], str]:
    message = BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + content)
    parts: list[Message] = [p for p in message.walk() if not p.is_multipart()]
    meta = next((p for p in parts if p.get_content_type() == "application/json"), None)
    image = next((p for p in parts if p.get_param("name", header="content-disposition")
                  == "labelImage"), None) or next(
        (p for p in parts if p.get_content_type() != "application/json"), None)
    if meta is None or image is None:
        raise ValueError("multipart label answer without a metadata and an image part")
    # USPS: "The contents of this part are always Base64 encoded", whatever the headers say
    return (json.loads(str(meta.get_payload())),
            "".join(str(image.get_payload()).split()))


def parse_label_part(content_type: str, content: bytes) -> LabelPart:
    """Parse a label response: vendor JSON (what we ask for) or the default multipart."""
    if content_type.lower().startswith("multipart/"):
        meta, image = _multipart(content_type, content)
    else:
        meta = json.loads(content)
        image = str(meta["labelImage"])
    return LabelPart(tracking_number=str(meta["trackingNumber"]), data=image,
                     charge=_label_charge(meta))


def build_label(parts: Sequence[LabelPart], request: LabelRequest, *, label_id: str,
                account: str, created_at: datetime) -> Label:
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account, service=request.service,
        tracking_number=parts[0].tracking_number, format=request.format,
        packages=[PackageLabel(tracking_number=p.tracking_number, data=p.data) for p in parts],
        charge=sum((p.charge for p in parts), Decimal(0)), currency=CURRENCY,
        created_at=created_at)


# --- void ------------------------------------------------------------------------------

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


# --- errors ----------------------------------------------------------------------------

def error_messages(status: int, body: Any) -> list[CarrierMessage]:
    """``{"apiVersion", "error": {"code", "message", "errors": [{status, code, title,
    detail, source: {parameter}}]}}``; OAuth failures may use RFC 6749's flat form."""
    if not isinstance(body, Mapping):
        return []
    error = body.get("error")
    if isinstance(error, str):  # {"error": "invalid_client", "error_description": "…"}
        return [CarrierMessage(carrier=CARRIER, code=error,
                               message=str(body.get("error_description") or error))]
    if not isinstance(error, Mapping):
        return []
    top_code = str(error.get("code") or f"http_{status}")
    messages = []
    for item in error.get("errors") or []:
        text = str(item.get("detail") or item.get("title") or error.get("message") or "")
        parameter = (item.get("source") or {}).get("parameter")
        if parameter:
            text = f"{text} ({parameter})"
        messages.append(CarrierMessage(carrier=CARRIER, code=str(item.get("code") or top_code),
                                       message=text))
    if not messages and error.get("message"):
        messages.append(CarrierMessage(carrier=CARRIER, code=top_code,
                                       message=str(error["message"])))
    return messages
