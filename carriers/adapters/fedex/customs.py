"""FedEx international: the rules checked before buying, and the payload parts.

Source: FedEx Ship API 1.0.0 and Rate API 1.0.0 as vendored by karrio at ``deea10f``
(``CustomsClearanceDetail`` requires ``commercialInvoice`` and ``commodities``; a
``Commodity`` has per-unit ``unitPrice``, a line-total ``customsValue`` and a line-total
``weight`` in the package unit; ``contact.phoneNumber`` 10-15 characters is required on
shipper and recipients; ``commercialInvoice.termsOfSale`` ≤ 3). Which ``tinType`` FedEx
wants for an EORI or IOSS number is not documented: we send ``BUSINESS_UNION``.
"""

from __future__ import annotations

from typing import Any

from carriers.adapters.fedex.common import CARRIER
from carriers.customs import CustomsRules, national_phone, problem
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
from carriers.units import convert_weight, money, origin_units, round_up

RULES = CustomsRules(
    carrier=CARRIER, source="FedEx Ship API 1.0.0 customsClearanceDetail", max_items=999,
    description_max=450, phone_digits=(10, 15),
    incoterms=frozenset(Incoterm(i) for i in (
        "DDP", "DDU", "DAP", "EXW", "CPT", "CIP", "CIF", "FCA", "FOB")))
_PURPOSES = {ContentsType.MERCHANDISE: "SOLD", ContentsType.GIFT: "GIFT",
             ContentsType.SAMPLE: "SAMPLE", ContentsType.RETURN: "REPAIR_AND_RETURN",
             ContentsType.DOCUMENTS: "NOT_SOLD"}
_PAYERS = {DutiesPayer.SENDER: "SENDER", DutiesPayer.RECIPIENT: "RECIPIENT",
           DutiesPayer.THIRD_PARTY: "THIRD_PARTY"}
_TIN_TYPES = {TaxIdKind.EIN: "FEDERAL", TaxIdKind.VAT: "BUSINESS_NATIONAL",
              TaxIdKind.EORI: "BUSINESS_UNION", TaxIdKind.IOSS: "BUSINESS_UNION"}


def phone_problems(request: LabelRequest) -> list[CarrierMessage]:
    """FedEx needs both phones on every label, domestic too (US/CA: 10 digits)."""
    found = []
    for role, place in (("ship_from", request.ship_from), ("ship_to", request.ship_to)):
        digits = national_phone(place.phone, place.country)
        if not digits:
            found.append(problem(RULES, f"{role}.phone", "contact.phoneNumber is required on "
                                 "the shipper and the recipient"))
        elif place.country in ("US", "CA") and len(digits) != 10:
            found.append(problem(RULES, f"{role}.phone",
                                 f"US and CA numbers have 10 digits, got {len(digits)}"))
        elif not 10 <= len(digits) <= 15:
            found.append(problem(RULES, f"{role}.phone", f"10 to 15 digits, got {len(digits)}"))
    return found


def clearance(customs: Customs, origin: str, *, shipper_account: str) -> dict[str, Any]:
    """requestedShipment.customsClearanceDetail (ship and rate)."""
    weight_unit, _ = origin_units(origin)
    commodities = []
    for item in customs.items:
        commodity: dict[str, Any] = {
            "description": item.description,
            "quantity": item.quantity,
            "quantityUnits": "PCS",
            "numberOfPieces": item.quantity,
            "unitPrice": {"amount": float(item.unit_value), "currency": customs.currency},
            # all units of the line
            "customsValue": {"amount": float(money(item.line_value)),
                             "currency": customs.currency},
            # commodity total, in the package unit
            "weight": {"units": weight_unit.value.upper(), "value": float(round_up(
                convert_weight(item.line_weight, item.weight_unit, weight_unit), "0.01"))},
            "countryOfManufacture": item.origin_country,
        }
        if item.hs_code:
            commodity["harmonizedCode"] = item.hs_code
        if item.sku:
            commodity["partNumber"] = item.sku
        commodities.append(commodity)
    payment: dict[str, Any] = {"paymentType": _PAYERS[customs.duties_payer]}
    if customs.duties_payer is DutiesPayer.SENDER:
        payment["payor"] = {"responsibleParty": {"accountNumber": {"value": shipper_account}}}
    elif customs.duties_payer is DutiesPayer.THIRD_PARTY:
        payment["payor"] = {"responsibleParty": {
            "accountNumber": {"value": customs.duties_account}}}
    invoice: dict[str, Any] = {"shipmentPurpose": _PURPOSES[customs.contents_type],
                               "termsOfSale": customs.incoterm.value}
    if customs.invoice_number:
        invoice["customerReferences"] = [{"customerReferenceType": "INVOICE_NUMBER",
                                          "value": customs.invoice_number}]
    return {
        "dutiesPayment": payment,
        "isDocumentOnly": customs.contents_type is ContentsType.DOCUMENTS,
        "commercialInvoice": invoice,
        "totalCustomsValue": {"amount": float(customs.total_value),
                              "currency": customs.currency},
        "commodities": commodities,
    }


def tins(customs: Customs, party: TaxIdParty) -> list[dict[str, str]]:
    return [{"number": t.number, "tinType": _TIN_TYPES[t.kind]}
            for t in customs.tax_ids if t.party is party]


def invoice_documents(electronic: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(shippingDocumentSpecification, shipmentSpecialServices or None).

    The invoice comes back in ``transactionShipments[].shipmentDocuments`` (not in the
    package documents, karrio #859); with ETD FedEx also sends it to customs itself.
    """
    documents = {"shippingDocumentTypes": ["COMMERCIAL_INVOICE"],
                 "commercialInvoiceDetail": {"documentFormat": {
                     "docType": "PDF", "stockType": "PAPER_LETTER"}}}
    if not electronic:
        return documents, None
    return documents, {"specialServiceTypes": ["ELECTRONIC_TRADE_DOCUMENTS"],
                       "etdDetail": {"requestedDocumentTypes": ["COMMERCIAL_INVOICE"]}}
