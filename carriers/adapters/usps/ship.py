"""USPS Labels 3.9: ``POST /labels/v3/label`` bodies (one per parcel) and the replies."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from email.message import Message
from email.parser import BytesParser
from typing import Any

from carriers.adapters.usps import international
from carriers.adapters.usps.common import (
    CARRIER,
    CURRENCY,
    inches,
    label_address,
    money_of,
    num,
    pounds,
    reject,
    require_domestic,
)
from carriers.adapters.usps.config import UspsConfig
from carriers.adapters.usps.rate import SERVICE_LEVELS
from carriers.models import Label, LabelFormat, LabelRequest, PackageLabel

# Accept value that makes the label POSTs answer JSON with base64 images, not multipart
LABEL_MEDIA_TYPE = "application/vnd.usps.labels+json"
LABEL_PATH = "/labels/v3/label"


def image_type(fmt: LabelFormat, config: UspsConfig) -> str:
    if fmt == LabelFormat.ZPL:
        if config.label_size == "2X7LABEL":
            raise reject("unsupported_format", "USPS offers no ZPL for the 2X7LABEL size")
        return f"ZPL{config.zpl_dpi}DPI"
    return "PDF" if fmt == LabelFormat.PDF else "PNG"


def label_path(request: LabelRequest) -> str:
    """Where the label requests go: domestic Labels or International Labels."""
    return international.PATH if international.is_international(request) else LABEL_PATH


def label_requests(request: LabelRequest, config: UspsConfig,
                   mailing_date: date) -> list[dict[str, Any]]:
    """Label bodies, one per parcel: USPS has no multi-piece shipments."""
    if international.is_international(request):
        return international.label_requests(request, config, mailing_date)
    require_domestic(request.ship_from, request.ship_to)
    if request.service not in SERVICE_LEVELS:
        raise reject("unsupported_service",
                     f"USPS mail class {request.service!r} is not one of "
                     f"{', '.join(SERVICE_LEVELS)}")
    to_address, from_address = label_address(request.ship_to), label_address(request.ship_from)
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
            "weightUOM": "lb", "weight": num(pounds(parcel)),
            "dimensionsUOM": "in",
            "length": num(length), "width": num(width), "height": num(height),
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


def idempotency_key(carrier_key: str | None, index: int, *, account: str = "",
                    label_id: str = "") -> str:
    """X-Idempotency-Key for one parcel of one purchase.

    ``carrier_key`` is the random UUID drawn when the idempotency record was claimed and
    kept on it, so every retry of this purchase sends the same keys: parcel 0 sends it as
    is, parcel n a UUID derived from it (unique per request, as USPS asks). Without a
    record (an old one, or a direct call) the key is derived from the label id.
    """
    if carrier_key is None:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"usps:{account}:{label_id}:{index}"))
    if index == 0:
        return carrier_key
    return str(uuid.uuid5(uuid.UUID(carrier_key), f"parcel:{index}"))


@dataclass(frozen=True)
class LabelPart:
    tracking_number: str
    data: str  # base64 label image
    charge: Decimal


def _label_charge(meta: Mapping[str, Any]) -> Decimal:
    # postage excludes extra services; fees are added as in Shipping Options, where
    # totalBasePrice = price + fees (that labels follow the same rule is unverified)
    extras = [*(meta.get("extraServices") or []), *(meta.get("fees") or [])]
    return money_of(meta.get("postage", 0)) + sum(
        (money_of(item.get("price", 0)) for item in extras), Decimal(0))


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
    # international labels name it internationalTrackingNumber (13 characters)
    number = meta.get("trackingNumber") or meta["internationalTrackingNumber"]
    return LabelPart(tracking_number=str(number), data=image,
                     charge=_label_charge(meta))


def build_label(parts: Sequence[LabelPart], request: LabelRequest, *, label_id: str,
                account: str, created_at: datetime) -> Label:
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account, service=request.service,
        tracking_number=parts[0].tracking_number, format=request.format,
        packages=[PackageLabel(tracking_number=p.tracking_number, data=p.data) for p in parts],
        charge=sum((p.charge for p in parts), Decimal(0)), currency=CURRENCY,
        created_at=created_at)
