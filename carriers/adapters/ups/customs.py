"""UPS international: the customs rules checked before buying, and the payload parts.

Source: UPS Shipping ``v2409`` (``UPS-API/api-documentation`` at ``e6f36df``):
``ShipmentServiceOptions_InternationalForms``, ``InternationalForms_Product``,
``Product_Unit``, ``Shipment.Description`` (1-50), ``Shipper_Phone``/``ShipTo_Phone``
(1-15 digits, required across borders), ``PaymentInformation.ShipmentCharge`` type 02,
``Shipment.GlobalTaxInformation`` and ``ShipFrom.VendorInfo`` (IOSS code 0356).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from carriers.adapters.ups.common import CARRIER
from carriers.customs import CustomsRules, crosses_border, label_problems, problem
from carriers.models import (
    CarrierMessage,
    ContentsType,
    Customs,
    DutiesPayer,
    Incoterm,
    LabelRequest,
    TaxIdKind,
    TaxIdParty,
)
from carriers.units import plain

RULES = CustomsRules(
    carrier=CARRIER, source="UPS Shipping v2409 InternationalForms", max_items=50,
    # Product.Description is 1-3 strings of 35; we send one line
    description_max=35,
    incoterms=frozenset(Incoterm(i) for i in (
        "CFR", "CIF", "CIP", "CPT", "DDP", "DAP", "EXW", "FCA", "FOB", "FAS")),
    hs_code_lengths=(6, 15), invoice_number_max=35, reason_max=20)
# ReasonForExport vocabulary (free text up to 20 is also taken)
_REASONS = {ContentsType.MERCHANDISE: "SALE", ContentsType.GIFT: "GIFT",
            ContentsType.SAMPLE: "SAMPLE", ContentsType.RETURN: "RETURN",
            ContentsType.DOCUMENTS: "SALE"}
# GlobalTaxInformation: TaxIdentificationNumber type and purpose codes
_TAX_TYPES = {TaxIdKind.EIN: ("0001", "01"), TaxIdKind.VAT: ("0002", "01"),
              TaxIdKind.EORI: ("0002", "02")}
_ROLES = {TaxIdParty.EXPORTER: "20", TaxIdParty.IMPORTER: "30"}
_IOSS_CODE = "0356"


def description(customs: Customs) -> str:
    """Shipment.Description: the goods in up to 50 characters."""
    words = ", ".join(dict.fromkeys(item.description for item in customs.items))
    return words[:50]


def international_forms(request: LabelRequest, customs: Customs, *, label_id: str,
                        today: date) -> dict[str, Any]:
    """InternationalForms for a commercial invoice (form type 01); the invoice number and
    date the invoice form requires default to the label id and today."""
    products = []
    for item in customs.items:
        product: dict[str, Any] = {
            "Description": [item.description],
            "Unit": {
                "Number": str(item.quantity),
                "UnitOfMeasurement": {"Code": "PCS", "Description": "Pieces"},
                # per-unit price, up to 6 decimals
                "Value": plain(item.unit_value),
            },
            "OriginCountryCode": item.origin_country,
        }
        if item.hs_code:
            product["CommodityCode"] = item.hs_code
        if item.sku:
            product["PartNumber"] = item.sku
        products.append(product)
    forms: dict[str, Any] = {
        "FormType": ["01"],
        "Product": products,
        "InvoiceNumber": customs.invoice_number or label_id,
        "InvoiceDate": (customs.invoice_date or today).strftime("%Y%m%d"),
        "ReasonForExport": (customs.reason_for_export or _REASONS[customs.contents_type])[:20],
        "TermsOfShipment": customs.incoterm.value,
        "CurrencyCode": customs.currency,
    }
    return {k: v for k, v in forms.items() if v != ""}


def duties_charge(customs: Customs, shipper_number: str) -> dict[str, Any] | None:
    """PaymentInformation.ShipmentCharge of Type 02 when the sender pays duties and taxes.

    Without a Type 02 charge UPS bills them to the receiver; ``BillReceiver`` would need the
    receiver's own UPS account, and ``BillThirdParty`` requires the third party's address,
    which the customs model does not carry (``problems`` refuses a third-party payer).
    """
    if customs.duties_payer is DutiesPayer.SENDER:
        return {"Type": "02", "BillShipper": {"AccountNumber": shipper_number}}
    return None


def problems(request: LabelRequest) -> list[CarrierMessage]:
    """The shared customs rules plus what only UPS refuses."""
    found = label_problems(request, RULES)
    customs = request.customs
    if (customs is not None and crosses_border(request.ship_from, request.ship_to)
            and customs.duties_payer is DutiesPayer.THIRD_PARTY):
        found.append(problem(RULES, "customs.duties_payer", "duties billed to a third party "
                             "need its address (BillThirdParty.Address), which is not "
                             "supported; use sender or recipient"))
    return found


def global_tax_information(customs: Customs) -> dict[str, Any] | None:
    agents: dict[str, list[dict[str, Any]]] = {}
    for tax_id in customs.tax_ids:
        if tax_id.kind not in _TAX_TYPES:
            continue
        kind, purpose = _TAX_TYPES[tax_id.kind]
        number: dict[str, Any] = {
            "IdentificationNumber": tax_id.number, "IDNumberTypeCode": kind,
            "IDNumberPurposeCode": purpose, "IDNumberCustomerRole": _ROLES[tax_id.party],
            "IDNumberEncryptionIndicator": "0"}
        if tax_id.issuing_country:
            number["IDNumberIssuingCntryCd"] = tax_id.issuing_country
        agents.setdefault(_ROLES[tax_id.party], []).append(number)
    if not agents:
        return None
    return {"AgentTaxIdentificationNumber": [
        {"AgentRole": role, "TaxIdentificationNumber": numbers}
        for role, numbers in agents.items()]}


def vendor_info(customs: Customs) -> dict[str, str] | None:
    """ShipFrom.VendorInfo carries the seller's IOSS number (code 0356)."""
    ioss = customs.tax_id(TaxIdParty.EXPORTER, TaxIdKind.IOSS)
    if ioss is None:
        return None
    return {"VendorCollectIDTypeCode": _IOSS_CODE, "VendorCollectIDNumber": ioss.number}


def invoice_line_total(customs: Customs) -> dict[str, str]:
    """Shipment.InvoiceLineTotal: whole units, 1 to 99999999 (Rating schema)."""
    whole = max(Decimal(1), customs.total_value.to_integral_value())
    return {"CurrencyCode": customs.currency, "MonetaryValue": plain(whole)}
