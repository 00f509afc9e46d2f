"""MyDHL ``POST /shipments``: the request, the label reply and its documents. Pure.

One waybill, one piece per parcel, one label document per piece. Documents in the reply
carry ``typeCode`` label / invoice / waybillDoc …; MyDHL's own sample reply has documents
without one, which are read as labels (nothing bought is ever dropped for a missing tag).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from carriers.adapters.dhl import customs as intl
from carriers.adapters.dhl.common import (
    CARRIER,
    NO_CURRENCY,
    account,
    customs_declarable,
    package,
    planned_shipping,
    price,
    reject,
)
from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import CapabilityMissing, CarrierUnavailable
from carriers.customs import label_problems, refuse
from carriers.models import (
    Address,
    CarrierMessage,
    DocumentKind,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    ShipmentDocument,
    TaxIdParty,
)

ENCODINGS: Mapping[LabelFormat, str] = {LabelFormat.PDF: "pdf", LabelFormat.ZPL: "zpl"}
_INVOICE_TEMPLATE = "COMMERCIAL_INVOICE_P_10"


def check_label(request: LabelRequest) -> None:
    """Refuse locally what MyDHL would refuse: phones always, customs when declarable."""
    problems = label_problems(request, intl.RULES, needs_customs=customs_declarable(
        request.ship_from, request.ship_to))
    for role, place in (("ship_from", request.ship_from), ("ship_to", request.ship_to)):
        if not place.phone and not any(p.field == f"{role}.phone" for p in problems):
            problems.append(CarrierMessage(
                carrier=CARRIER, code="phone_required", field=f"{role}.phone",
                message=f"{role}.phone: DHL Express needs the phone number "
                        f"({intl.RULES.source} contactInformation.phone)"))
    refuse(CARRIER, problems)


def _party(address: Address) -> dict[str, Any]:
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


def shipment_request(request: LabelRequest, config: DhlExpressConfig, now: datetime, *,
                     label_id: str = "") -> dict[str, Any]:
    """POST /shipments; a dutiable one carries the export declaration and asks for the
    commercial invoice (and paperless trade, WY, when the account has it)."""
    if request.format not in ENCODINGS:
        raise reject("unsupported_format",
                     f"DHL Express labels come as PDF or ZPL, not {request.format.value}")
    if not re.fullmatch(r"[A-Z0-9]{1,6}", request.service):
        raise reject("unsupported_service",
                     f"{request.service!r} is not a DHL Express global product code")
    check_label(request)
    shipper, receiver = _party(request.ship_from), _party(request.ship_to)
    images: list[dict[str, Any]] = [{"typeCode": "label",
                                     "templateName": config.label_template}]
    content: dict[str, Any] = {
        "packages": [package(parcel) for parcel in request.parcels],
        "isCustomsDeclarable": False,
        "description": config.content_description,
        "incoterm": config.incoterm,
        "unitOfMeasurement": "metric",
    }
    accounts = account(config)
    body: dict[str, Any] = {
        "plannedShippingDateAndTime": planned_shipping(now, config.zone),
        "pickup": {"isRequested": False},
        "productCode": request.service,
        "getRateEstimates": True,  # returns shipmentCharges, our Label.charge
        "accounts": accounts,
        "outputImageProperties": {
            "encodingFormat": ENCODINGS[request.format],
            "imageOptions": images,
            # one transport label document per piece, tagged with packageReferenceNumber
            "splitTransportAndWaybillDocLabels": True,
            "allDocumentsInOneImage": False,
            "splitDocumentsByPages": True,
        },
        "customerDetails": {"shipperDetails": shipper, "receiverDetails": receiver},
        "content": content,
    }
    customs = request.customs
    if customs is not None and customs_declarable(request.ship_from, request.ship_to):
        content |= {
            "isCustomsDeclarable": True,
            "declaredValue": float(customs.total_value),
            "declaredValueCurrency": customs.currency,
            "description": intl.content_description(customs),
            "incoterm": customs.incoterm.value,
            "exportDeclaration": intl.export_declaration(
                customs, invoice_number=label_id or request.reference or "1",
                today=now.astimezone(config.zone).date()),
        }
        accounts.extend(intl.duty_accounts(customs, config.account_number))
        images.append({"typeCode": "invoice", "isRequested": True,
                       "invoiceType": "commercial", "templateName": _INVOICE_TEMPLATE})
        for place, side, address in ((shipper, TaxIdParty.EXPORTER, request.ship_from),
                                     (receiver, TaxIdParty.IMPORTER, request.ship_to)):
            numbers = intl.registration_numbers(customs, side, address)
            if numbers:
                place["registrationNumbers"] = numbers
        if config.paperless_trade:
            body["valueAddedServices"] = [{"serviceCode": "WY"}]
    if request.reference:
        body["customerReferences"] = [{"value": request.reference, "typeCode": "CU"}]
    return body


def _charge(body: Mapping[str, Any]) -> tuple[Decimal, str]:
    return price(body.get("shipmentCharges")) or (Decimal("0.00"), NO_CURRENCY)


def parse_label(body: Mapping[str, Any], request: LabelRequest, *, label_id: str,
                account: str, created_at: datetime, paperless: bool = False) -> Label:
    waybill = str(body["shipmentTrackingNumber"])
    every = [d for d in body.get("documents") or [] if d.get("content")]
    documents = [d for d in every if d.get("typeCode") == "label"] or [
        d for d in every if not d.get("typeCode")]
    if not documents:
        raise CarrierUnavailable(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="label_missing",
            message=f"DHL Express created waybill {waybill} but sent no label document; "
                    "MyDHL cannot void it: cancel it with DHL Express")])
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
    invoices = [ShipmentDocument(kind=DocumentKind.COMMERCIAL_INVOICE, format="pdf",
                                 data=str(d["content"]), transmitted=paperless)
                for d in every if d.get("typeCode") == "invoice"]
    return Label(id=label_id, carrier=CARRIER, carrier_account=account,
                 service=request.service, tracking_number=waybill, format=request.format,
                 packages=packages, charge=charge, currency=currency, created_at=created_at,
                 documents=invoices)


def void_unsupported(tracking_number: str) -> CapabilityMissing:
    """MyDHL API 3.1.1 has no operation that cancels a shipment (only pickups)."""
    return CapabilityMissing(CARRIER, [CarrierMessage(
        carrier=CARRIER, code="void_unsupported",
        message=f"DHL Express waybill {tracking_number} cannot be voided through the MyDHL "
                "API; ask DHL Express customer service to cancel it")])
