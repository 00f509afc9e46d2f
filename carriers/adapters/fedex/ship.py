"""FedEx Ship ``v1``: the shipment request and the label reply with its documents. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from carriers.adapters.fedex import customs as intl
from carriers.adapters.fedex.common import (
    CARRIER,
    PACKAGING,
    UnexpectedReply,
    amount,
    currency,
    line_items,
    party,
    text,
)
from carriers.adapters.fedex.config import FedExConfig
from carriers.adapters.fedex.services import service_id, service_type
from carriers.adapters.payload import as_list, dig
from carriers.base import CarrierRejected
from carriers.customs import crosses_border, label_problems, refuse
from carriers.models import (
    CarrierMessage,
    DocumentKind,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    ShipmentDocument,
    TaxIdParty,
    WeightUnit,
)
from carriers.units import parcel_weight, round_up

IMAGE_TYPES = {LabelFormat.PDF: "PDF", LabelFormat.PNG: "PNG", LabelFormat.ZPL: "ZPLII"}
_DOCUMENT_KINDS = {"COMMERCIAL_INVOICE": DocumentKind.COMMERCIAL_INVOICE,
                   "PROFORMA_INVOICE": DocumentKind.COMMERCIAL_INVOICE}


def check_label(request: LabelRequest) -> None:
    """Refuse locally what FedEx would refuse (phones always; customs across borders)."""
    # phones are checked apart: FedEx wants them on domestic labels as well
    refuse(CARRIER, intl.phone_problems(request)
           + label_problems(request, replace(intl.RULES, phone_required=False)))


def ship_request(request: LabelRequest, config: FedExConfig) -> dict[str, Any]:
    """Body for ``POST /ship/v1/shipments``: one multi-piece shipment, labels inline."""
    kind = service_type(request.service)
    if kind is None:
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="unknown_service",
            message=f"{request.service!r} is not a FedEx service type")])
    check_label(request)
    items = line_items(request.parcels, request.ship_from.country)
    if request.reference:
        for item in items:
            item["customerReferences"] = [
                {"customerReferenceType": "CUSTOMER_REFERENCE", "value": request.reference}]
    thermal = request.format is LabelFormat.ZPL
    shipper, recipient = party(request.ship_from), party(request.ship_to)
    shipment: dict[str, Any] = {
        "shipper": shipper,
        "recipients": [recipient],
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
        "totalWeight": float(sum((round_up(parcel_weight(p, WeightUnit.LB), "0.1")
                                  for p in request.parcels), Decimal(0))),
        "totalPackageCount": len(request.parcels),
        "requestedPackageLineItems": items,
    }
    customs = request.customs
    if customs is not None and crosses_border(request.ship_from, request.ship_to):
        shipment["customsClearanceDetail"] = intl.clearance(
            customs, request.ship_from.country, shipper_account=config.account_number)
        documents, services = intl.invoice_documents(config.electronic_trade_documents)
        shipment["shippingDocumentSpecification"] = documents
        if services:
            shipment["shipmentSpecialServices"] = services
        for place, side in ((shipper, TaxIdParty.EXPORTER), (recipient, TaxIdParty.IMPORTER)):
            numbers = intl.tins(customs, side)
            if numbers:
                place["tins"] = numbers
    return {
        "labelResponseOptions": "LABEL",
        "accountNumber": {"value": config.account_number},
        "requestedShipment": shipment,
    }


def created_tracking_number(body: Any) -> str | None:
    """The master tracking number FedEx created, even when the reply is otherwise unusable."""
    shipments = as_list(dig(body, "output", "transactionShipments"))
    first = shipments[0] if shipments and isinstance(shipments[0], dict) else {}
    pieces = [p for p in as_list(first.get("pieceResponses")) if isinstance(p, dict)]
    return (text(first.get("masterTrackingNumber"))
            or (text(pieces[0].get("trackingNumber")) if pieces else "")) or None


def parse_label(body: Any, request: LabelRequest, config: FedExConfig, *, label_id: str,
                account: str, created_at: datetime) -> Label:
    shipments = as_list(dig(body, "output", "transactionShipments"))
    if not shipments or not isinstance(shipments[0], dict):
        raise UnexpectedReply("FedEx ship reply lacks output.transactionShipments")
    shipment = shipments[0]
    pieces = [p for p in as_list(shipment.get("pieceResponses")) if isinstance(p, dict)]
    loose = [d for d in as_list(shipment.get("shipmentDocuments")) if isinstance(d, dict)]
    packages = []
    for piece in pieces:
        tracking = text(piece.get("trackingNumber"))
        documents = as_list(piece.get("packageDocuments"))
        # single-piece replies have been seen to carry the label among shipmentDocuments
        if len(pieces) == 1:
            documents = documents + loose
        image = _label_image(documents, tracking)
        if not tracking or not image:
            raise UnexpectedReply("FedEx piece without tracking number or encoded label")
        packages.append(PackageLabel(tracking_number=tracking, data=image))
    if not packages:
        raise UnexpectedReply("FedEx ship reply holds no pieceResponses")
    master = text(shipment.get("masterTrackingNumber")) or packages[0].tracking_number
    charge, code = _label_charge(shipment, pieces, config.default_currency)
    kind = text(shipment.get("serviceType")) or service_type(request.service) or request.service
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account, service=service_id(kind),
        tracking_number=master, format=request.format, packages=packages, charge=charge,
        currency=code, created_at=created_at,
        documents=_documents(loose, transmitted=config.electronic_trade_documents),
    )


def _documents(loose: list[dict[str, Any]], *, transmitted: bool) -> list[ShipmentDocument]:
    """Invoices among ``shipmentDocuments`` (inline only: a ``url`` lives 24 hours)."""
    found = []
    for document in loose:
        kind = _DOCUMENT_KINDS.get(text(document.get("contentType")))
        data = text(document.get("encodedLabel"))
        if kind is not None and data:
            found.append(ShipmentDocument(kind=kind, format="pdf", data=data,
                                          transmitted=transmitted))
    return found


def _label_charge(shipment: dict[str, Any], pieces: list[dict[str, Any]],
                  default_currency: str) -> tuple[Decimal, str]:
    rating = dig(shipment, "completedShipmentDetail", "shipmentRating") or {}
    details = [d for d in as_list(rating.get("shipmentRateDetails")) if isinstance(d, dict)]
    actual = text(rating.get("actualRateType"))
    chosen = next((d for d in details if text(d.get("rateType")) == actual),
                  details[0] if details else None)
    total_net = amount(dig(chosen, "totalNetCharge"))
    if total_net is not None:
        return total_net, currency(dig(chosen, "currency")) or default_currency
    # no shipment rating (some accounts get none): add up what the pieces report
    total = sum((a for p in pieces if (a := amount(p.get("netChargeAmount"))) is not None),
                Decimal("0.00"))
    return total, default_currency


def _label_image(documents: list[Any], tracking: str) -> str:
    labels = [d for d in documents if isinstance(d, dict) and d.get("encodedLabel")
              and text(d.get("contentType") or "LABEL") == "LABEL"]
    own = [d for d in labels if text(d.get("trackingNumber")) in ("", tracking)]
    chosen = (own or labels or [{}])[0]
    return text(chosen.get("encodedLabel"))
