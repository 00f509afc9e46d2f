"""UPS Shipping ``v2409``: the ship request, the label reply and its forms. Pure.

Labels: UPS renders GIF, ZPL, EPL and SPL. ``zpl`` is asked as ZPL; ``pdf`` and ``png``
are asked as GIF and re-encoded (``carriers.adapters.images``). International forms
(the commercial invoice) come back as one PDF in ``ShipmentResults.Form``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from carriers.adapters import images
from carriers.adapters.payload import as_list, dig
from carriers.adapters.ups import customs as intl
from carriers.adapters.ups.common import (
    CARRIER,
    UnexpectedReply,
    packages,
    party,
    payment,
    read_money,
    text,
)
from carriers.adapters.ups.config import UPSConfig
from carriers.adapters.ups.services import code_for_service, service_for_code
from carriers.base import CarrierRejected
from carriers.customs import eu_inbound, refuse
from carriers.models import (
    CarrierMessage,
    ContentsType,
    DocumentKind,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    ShipmentDocument,
)

# what UPS is asked for, per format we hand out
IMAGE_CODES = {LabelFormat.ZPL: "ZPL", LabelFormat.PDF: "GIF", LabelFormat.PNG: "GIF"}
_FORM_FORMATS: dict[str, Literal["pdf", "png", "gif"]] = {
    "pdf": "pdf", "png": "png", "gif": "gif"}


def check_label(request: LabelRequest) -> None:
    """Refuse locally what UPS would refuse (422 naming the field and the UPS rule)."""
    refuse(CARRIER, intl.problems(request))


def ship_request(request: LabelRequest, config: UPSConfig, label_id: str, *,
                 today: date | None = None) -> dict[str, Any]:
    """ShipmentRequest for ``/api/shipments/{version}/ship``."""
    code = code_for_service(request.service)
    if code is None:
        raise CarrierRejected(CARRIER, [CarrierMessage(
            carrier=CARRIER, code="unknown_service",
            message=f"{request.service!r} is not a UPS service")])
    check_label(request)
    ship_packages = packages(request.parcels, request.ship_from.country, purpose="ship")
    charges = payment(config)
    shipment: dict[str, Any] = {
        "Shipper": {
            **party(request.ship_from, contact=True),
            "ShipperNumber": config.shipper_number,
        },
        "ShipTo": party(request.ship_to, contact=True, residential_flag=True),
        "ShipFrom": party(request.ship_from, contact=True),
        "PaymentInformation": charges,
        "Service": {"Code": code},
        "Package": ship_packages,
    }
    customs = request.customs
    if customs is not None and request.ship_from.country != request.ship_to.country:
        shipment["Description"] = intl.description(customs)
        duties = intl.duties_charge(customs, config.shipper_number)
        if duties is not None:
            charges["ShipmentCharge"].append(duties)
        if customs.contents_type is ContentsType.DOCUMENTS:
            shipment["DocumentsOnlyIndicator"] = ""
        else:
            forms = intl.international_forms(request, customs, label_id=label_id,
                                             today=today or datetime.now(UTC).date())
            if config.paperless_invoice:
                # UPS transmits the invoice; the override still returns a copy to keep
                forms["OverridePaperlessIndicator"] = ""
            shipment["ShipmentServiceOptions"] = {"InternationalForms": forms}
        if eu_inbound(request.ship_from, request.ship_to):
            # required for EU inbound: who ships and who receives (01 business, 02 consumer)
            shipment["ShipperType"] = "01"
            shipment["ConsigneeType"] = "02" if request.ship_to.residential else "01"
            for product in shipment.get("ShipmentServiceOptions", {}).get(
                    "InternationalForms", {}).get("Product", []):
                # "01" when no standardized product id (GTIN) is given, as here
                product["CommodityFieldSpecialConditionCode"] = "01"
        taxes = intl.global_tax_information(customs)
        if taxes:
            shipment["GlobalTaxInformation"] = taxes
        vendor = intl.vendor_info(customs)
        if vendor:
            shipment["ShipFrom"]["VendorInfo"] = vendor
    if config.negotiated_rates:
        shipment["ShipmentRatingOptions"] = {"NegotiatedRatesIndicator": "Y"}
    if request.reference:
        # UPS takes package-level references only within the US (or PR), shipment-level elsewhere
        reference = [{"Value": request.reference}]
        domestic = {request.ship_from.country, request.ship_to.country}
        if domestic in ({"US"}, {"PR"}):
            for package in ship_packages:
                package["ReferenceNumber"] = reference
        else:
            shipment["ReferenceNumber"] = reference
    image_code = IMAGE_CODES[request.format]
    specification: dict[str, Any] = {"LabelImageFormat": {"Code": image_code}}
    if image_code == "GIF":
        specification["HTTPUserAgent"] = "Mozilla/4.5"
    else:
        height = config.label_stock.split("x")[1]
        specification["LabelStockSize"] = {"Height": height, "Width": "4"}
    return {"ShipmentRequest": {
        "Request": {"RequestOption": "nonvalidate",
                    "TransactionReference": {"CustomerContext": label_id}},
        "Shipment": shipment,
        "LabelSpecification": specification,
    }}


def shipment_id(body: Any) -> str | None:
    """The shipment UPS created, even when the rest of the reply is unusable."""
    return text(dig(body, "ShipmentResponse", "ShipmentResults",
                    "ShipmentIdentificationNumber")) or None


def parse_label(body: Any, request: LabelRequest, *, label_id: str, account: str,
                created_at: datetime, paperless: bool = False) -> Label:
    results = dig(body, "ShipmentResponse", "ShipmentResults")
    if not isinstance(results, dict):
        raise UnexpectedReply("UPS ship reply lacks ShipmentResponse.ShipmentResults")
    out = []
    # PackageResults is a list from v2403 on, a bare object for one package before that
    for result in as_list(results.get("PackageResults")):
        tracking = text(result.get("TrackingNumber"))
        image = text(dig(result, "ShippingLabel", "GraphicImage"))
        if not tracking or not image:
            raise UnexpectedReply("UPS package result without tracking number or label")
        if request.format is not LabelFormat.ZPL:
            try:
                image = images.convert(image, request.format.value)
            except images.BadImage as exc:
                raise UnexpectedReply(str(exc)) from exc
        out.append(PackageLabel(tracking_number=tracking, data=image))
    if not out:
        raise UnexpectedReply("UPS ship reply holds no PackageResults")
    charge = (read_money(dig(results, "NegotiatedRateCharges", "TotalCharge"))
              or read_money(dig(results, "ShipmentCharges", "TotalCharges")))
    if charge is None:
        raise UnexpectedReply("UPS ship reply holds no shipment charges")
    code = code_for_service(request.service) or request.service
    return Label(
        id=label_id, carrier=CARRIER, carrier_account=account,
        service=service_for_code(code).slug, tracking_number=out[0].tracking_number,
        format=request.format, packages=out, charge=charge[0], currency=charge[1],
        carrier_shipment_id=text(results.get("ShipmentIdentificationNumber")) or None,
        created_at=created_at, documents=_forms(results, paperless),
    )


def _forms(results: dict[str, Any], paperless: bool) -> list[ShipmentDocument]:
    """ShipmentResults.Form (code 01: all requested international forms) as documents."""
    documents = []
    for form in as_list(results.get("Form")):
        image = dig(form, "Image")
        data = text(dig(image, "GraphicImage"))
        kind = _FORM_FORMATS.get(text(dig(image, "ImageFormat", "Code")).lower() or "pdf")
        if not data or kind is None:
            continue
        documents.append(ShipmentDocument(kind=DocumentKind.COMMERCIAL_INVOICE, format=kind,
                                          data=data, transmitted=paperless))
    return documents
