"""DHL Express international: the rules checked before buying, and the payload parts.

Source: MyDHL API 3.1.1 (vendored by karrio at ``deea10f``): ``content.exportDeclaration``
is required when ``content.isCustomsDeclarable``; ``lineItems[]`` 1-999 with a per-unit
``price``, ``quantity {value, unitOfMeasurement}``, ``manufacturerCountry`` and line-total
``weight {netValue, grossValue}``; ``description`` 1-512; ``invoice {number ≤ 35, date}``
required; ``exportReason`` ≤ 30; ``content.incoterm`` required; parties'
``registrationNumbers[] {typeCode, number, issuerCountryCode}`` (VAT, EOR, SDT = IOSS, EIN);
``contactInformation.phone`` 1-70 on shipper and receiver.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from carriers.adapters.dhl.common import CARRIER
from carriers.customs import CustomsRules
from carriers.models import (
    Address,
    ContentsType,
    Customs,
    DutiesPayer,
    Incoterm,
    TaxIdKind,
    TaxIdParty,
    WeightUnit,
)
from carriers.units import convert_weight, money, round_up

RULES = CustomsRules(
    carrier=CARRIER, source="MyDHL API 3.1.1 exportDeclaration", max_items=999,
    description_max=512, phone_digits=(1, 70), hs_code_lengths=(6, 14), reason_max=30,
    incoterms=frozenset(Incoterm(i) for i in (
        "EXW", "FCA", "CPT", "CIP", "DPU", "DAP", "DDP", "FAS", "FOB", "CFR", "CIF", "DDU")))
_REASON_TYPES = {ContentsType.MERCHANDISE: "commercial_purpose_or_sale",
                 ContentsType.GIFT: "gift", ContentsType.SAMPLE: "sample",
                 ContentsType.RETURN: "return", ContentsType.DOCUMENTS: "permanent"}
_REGISTRATION_TYPES = {TaxIdKind.VAT: "VAT", TaxIdKind.EORI: "EOR", TaxIdKind.IOSS: "SDT",
                       TaxIdKind.EIN: "EIN"}


def content_description(customs: Customs) -> str:
    return ", ".join(dict.fromkeys(item.description for item in customs.items))[:70]


def export_declaration(customs: Customs, *, invoice_number: str,
                       today: date) -> dict[str, Any]:
    lines = []
    for number, item in enumerate(customs.items, start=1):
        net = round_up(convert_weight(item.line_weight, item.weight_unit, WeightUnit.KG), "0.001")
        line: dict[str, Any] = {
            "number": number,
            "description": item.description,
            # per unit, to the cent (not truncated to whole units)
            "price": float(money(item.unit_value)),
            "quantity": {"value": item.quantity, "unitOfMeasurement": "PCS"},
            "exportReasonType": _REASON_TYPES[customs.contents_type],
            "manufacturerCountry": item.origin_country,
            # line totals: DHL does not multiply by the quantity
            "weight": {"netValue": float(net), "grossValue": float(net)},
        }
        if item.hs_code:
            line["commodityCodes"] = [{"typeCode": "outbound", "value": item.hs_code}]
        lines.append(line)
    declaration: dict[str, Any] = {
        "lineItems": lines,
        "invoice": {"number": customs.invoice_number or invoice_number,
                    "date": (customs.invoice_date or today).isoformat()},
        "exportReasonType": _REASON_TYPES[customs.contents_type],
        "shipmentType": "personal" if customs.contents_type is ContentsType.GIFT
        else "commercial",
    }
    if customs.reason_for_export:
        declaration["exportReason"] = customs.reason_for_export
    return declaration


def registration_numbers(customs: Customs, party: TaxIdParty,
                         place: Address) -> list[dict[str, str]]:
    return [{"typeCode": _REGISTRATION_TYPES[t.kind], "number": t.number,
             "issuerCountryCode": t.issuing_country or place.country}
            for t in customs.tax_ids if t.party is party]


def duty_accounts(customs: Customs, shipper_account: str) -> list[dict[str, str]]:
    """``accounts[]`` entries of type duties-taxes when someone but the receiver pays."""
    if customs.duties_payer is DutiesPayer.SENDER:
        return [{"typeCode": "duties-taxes", "number": shipper_account}]
    if customs.duties_payer is DutiesPayer.THIRD_PARTY and customs.duties_account:
        return [{"typeCode": "duties-taxes", "number": customs.duties_account}]
    return []
