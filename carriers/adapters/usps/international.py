"""USPS International Labels 3.3.7: ``POST /international-labels/v3/international-label``.

Source: ``international-labels.yaml`` 3.3.7 as vendored by karrio at ``deea10f``
(``modules/connectors/usps_international/vendor``). One label per parcel, from a domestic
origin; ``customsForm`` is required (``AESITN``, ``customsContentType``, ``contents[]``
1-30 lines of ``itemDescription`` ≤ 30, ``itemQuantity`` 1-9999, ``itemTotalValue`` in USD
and ``itemTotalWeight`` in lb for the whole line, ``HSTariffNumber`` 6-14, required
``countryofOrigin``); ``invoiceNumber`` ≤ 15. The CN22/CN23 declaration prints with the
label image, so no separate document comes back. ``immediateManifest`` is left off: such
labels could never be cancelled, only refunded.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from carriers.adapters.usps.common import (
    CARRIER,
    CURRENCY,
    DOMESTIC,
    inches,
    label_address,
    num,
    pounds,
    reject,
)
from carriers.adapters.usps.config import UspsConfig
from carriers.customs import CustomsRules, label_problems, problem, refuse
from carriers.models import (
    Address,
    CarrierMessage,
    ContentsType,
    Customs,
    DutiesPayer,
    Incoterm,
    LabelFormat,
    LabelRequest,
    TaxIdKind,
    TaxIdParty,
    WeightUnit,
)
from carriers.units import convert_weight, money, round_up

PATH = "/international-labels/v3/international-label"
MAIL_CLASSES = ("FIRST-CLASS_PACKAGE_INTERNATIONAL_SERVICE", "PRIORITY_MAIL_INTERNATIONAL",
                "PRIORITY_MAIL_EXPRESS_INTERNATIONAL")
RULES = CustomsRules(
    carrier=CARRIER, source="USPS International Labels 3.3.7 customsForm", max_items=30,
    description_max=30, phone_required=False, invoice_number_max=15,
    # USPS has no incoterm: DAP and DDP (prepaid duties) are what its terms can express
    incoterms=frozenset({Incoterm.DAP, Incoterm.DDP}),
    vague_descriptions=frozenset({"none", "n/a", "gift", "merchandise", "goods", "items",
                                  "sample", "various"}))
# FTR 30.37(a): no EEI under USD 2,500 per Schedule B line
_EEI_EXEMPTION = "NO EEI 30.37(a)"
_EEI_LIMIT = Decimal(2500)
_CONTENT_TYPES = {ContentsType.MERCHANDISE: "MERCHANDISE", ContentsType.GIFT: "GIFT",
                  ContentsType.DOCUMENTS: "DOCUMENT", ContentsType.SAMPLE: "COMMERCIAL_SAMPLE",
                  ContentsType.RETURN: "RETURNED_GOODS"}
_IMAGE_TYPES = {LabelFormat.PDF: "PDF", LabelFormat.ZPL: "ZPL"}


def is_international(request: LabelRequest) -> bool:
    return request.ship_to.country not in DOMESTIC


def problems(request: LabelRequest) -> list[CarrierMessage]:
    """What USPS would refuse on an international label (empty for domestic ones)."""
    if not is_international(request):
        return []
    found = label_problems(request, RULES, needs_customs=True)
    if request.ship_from.country not in DOMESTIC:
        found.append(problem(RULES, "ship_from.country", "international labels leave from "
                             "the US, its territories or freely associated states"))
    if request.service not in MAIL_CLASSES:
        found.append(problem(RULES, "service",
                             f"an international mail class: {', '.join(MAIL_CLASSES)}"))
    if request.format not in _IMAGE_TYPES:
        found.append(problem(RULES, "format", "international labels come as pdf or zpl"))
    customs = request.customs
    if customs is None:
        return found
    if customs.currency != CURRENCY:
        found.append(problem(RULES, "customs.items[0].currency", "values are declared in USD"))
    elif customs.export_filing is None and any(
            item.line_value > _EEI_LIMIT for item in customs.items):
        found.append(problem(RULES, "customs.export_filing", "a line over USD 2,500 needs "
                             "the AES ITN"))
    return found


def check_label(request: LabelRequest) -> None:
    refuse(CARRIER, problems(request))


def label_requests(request: LabelRequest, config: UspsConfig,
                   mailing_date: date) -> list[dict[str, Any]]:
    """One InternationalLabelRequest per parcel."""
    check_label(request)
    customs = request.customs
    assert customs is not None  # checked above
    image: dict[str, Any] = {"imageType": _image_type(request.format, config),
                             "labelType": "4X6LABEL"}
    value_per_parcel = money(customs.total_value / len(request.parcels))
    bodies = []
    for parcel in request.parcels:
        length, width, height = inches(parcel)
        package: dict[str, Any] = {
            "mailClass": request.service,
            "processingCategory": "MACHINABLE",
            "destinationEntryFacilityType": "NONE",
            "weightUOM": "lb", "weight": num(pounds(parcel)),
            "dimensionsUOM": "in",
            "length": num(length), "width": num(width), "height": num(height),
            "mailingDate": mailing_date.isoformat(),
            # packageValue insures the goods; split evenly over the parcels
            "packageOptions": {"packageValue": num(value_per_parcel),
                               "nonDeliveryOption": "RETURN"},
        }
        if customs.duties_payer is DutiesPayer.SENDER:
            package["prepayDutiesTaxesFees"] = True
        if request.reference:
            package["customerReference"] = [
                {"referenceNumber": request.reference[:30], "printReferenceNumber": True}]
        bodies.append({"imageInfo": image, "toAddress": _foreign_address(request.ship_to),
                       "fromAddress": label_address(request.ship_from),
                       "packageDescription": package, "customsForm": customs_form(customs)})
    return bodies


def customs_form(customs: Customs) -> dict[str, Any]:
    contents = []
    for item in customs.items:
        line: dict[str, Any] = {
            "itemDescription": item.description,
            "itemQuantity": item.quantity,
            # line totals, in USD and pounds
            "itemTotalValue": num(money(item.line_value)),
            "weightUOM": "lb",
            "itemTotalWeight": num(round_up(
                convert_weight(item.line_weight, item.weight_unit, WeightUnit.LB), "0.01")),
            "countryofOrigin": item.origin_country,
        }
        if item.hs_code:
            line["HSTariffNumber"] = item.hs_code
        contents.append(line)
    form: dict[str, Any] = {
        "AESITN": customs.export_filing or _EEI_EXEMPTION,
        "customsContentType": _CONTENT_TYPES[customs.contents_type],
        "contents": contents,
    }
    if customs.invoice_number:
        form["invoiceNumber"] = customs.invoice_number
    for party, key in ((TaxIdParty.IMPORTER, "importersReference"),
                       (TaxIdParty.EXPORTER, "exportersReference")):
        tax_id = next((t for t in customs.tax_ids if t.party is party), None)
        if tax_id is not None:
            kind = "VAT_NUMBER" if tax_id.kind in (TaxIdKind.VAT, TaxIdKind.IOSS) else "TAX_CODE"
            form[key] = {"referenceType": kind, "reference": tax_id.number[:28]}
    return form


def _image_type(fmt: LabelFormat, config: UspsConfig) -> str:
    if fmt is LabelFormat.ZPL:
        return f"ZPL{config.zpl_dpi}DPI"
    if fmt is LabelFormat.PDF:
        return "PDF"
    raise reject("unsupported_format", "USPS international labels come as pdf or zpl")


def _foreign_address(address: Address) -> dict[str, Any]:
    out: dict[str, Any] = {"streetAddress": address.street[0][:50]}
    if len(address.street) > 1:
        out["secondaryAddress"] = " ".join(address.street[1:])[:50]
    out |= {"city": address.city[:28], "postalCode": address.postal_code[:11],
            "countryISOAlpha2Code": address.country}
    if address.state:
        out["province"] = address.state[:40]
    first, _, last = address.name.strip().rpartition(" ")
    if first:
        out |= {"firstName": first[:50], "lastName": last[:50]}
    if address.company or not first:
        out["firm"] = (address.company or address.name)[:50]
    phone = re.sub(r"\D", "", address.phone or "")
    if 6 <= len(phone) <= 15:
        out["phone"] = phone
    return out
