"""DHL Express across a customs border: the export declaration, the invoice asked for and
returned, paperless trade, untyped label documents kept, and local refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import respx

from carriers.adapters.dhl import DhlExpressCarrier, mapping
from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import CarrierRejected, CarrierUnavailable
from carriers.models import (
    Address,
    Customs,
    CustomsItem,
    DocumentKind,
    DutiesPayer,
    Incoterm,
    LabelRequest,
    RateRequest,
    TaxId,
    TaxIdKind,
    TaxIdParty,
    WeightUnit,
)
from tests.carriers.adapters.test_dhl_mapping import BOX, CONFIG, LEIPZIG, label_request, load

BASE = "https://express.api.dhl.com/mydhlapi/test"
NOW = datetime(2025, 5, 26, 13, 0, tzinfo=UTC)
ZURICH = Address(name="Luca Meier", company="Meier Velo AG", street=["Bahnhofstrasse 10"],
                 city="Zürich", postal_code="8001", country="CH", phone="+41 44 668 18 00")
CUSTOMS = Customs(
    incoterm=Incoterm.DDP, duties_payer=DutiesPayer.SENDER, reason_for_export="Sale of goods",
    items=[CustomsItem(description="Bicycle chain, 11-speed", quantity=12,
                       unit_value=Decimal("23.49"), currency="EUR",
                       net_weight=Decimal("0.257"), hs_code="8714 91", origin_country="DE",
                       sku="CH-11S"),
           CustomsItem(description="Brake pads (pair)", quantity=5, unit_value=Decimal("7.10"),
                       currency="EUR", net_weight=Decimal("2.5"), weight_unit=WeightUnit.LB,
                       hs_code="871494", origin_country="TW")],
    tax_ids=[TaxId(party=TaxIdParty.EXPORTER, kind=TaxIdKind.EORI, number="DE9876543210123"),
             TaxId(party=TaxIdParty.IMPORTER, kind=TaxIdKind.VAT, number="CHE123456789")])
PAPERLESS = DhlExpressConfig.model_validate({**CONFIG.model_dump(mode="json"),
                                             "api_key": "key", "api_secret": "secret",
                                             "paperless_trade": True})


def international(**changes: Any) -> LabelRequest:
    return label_request(ship_to=ZURICH, service="P", customs=CUSTOMS, **changes)


def test_a_dutiable_shipment_carries_the_export_declaration() -> None:
    body = mapping.shipment_request(international(), PAPERLESS, NOW,
                                    label_id="lbl_ch")
    content = body["content"]

    assert content["isCustomsDeclarable"] is True
    # 12 x 23.49 + 5 x 7.10 = 317.38
    assert (content["declaredValue"], content["declaredValueCurrency"]) == (317.38, "EUR")
    assert content["incoterm"] == "DDP"
    declaration = content["exportDeclaration"]
    chain, pads = declaration["lineItems"]
    # unit price to the cent; weights are line totals in kg
    assert chain["price"] == 23.49 and chain["quantity"] == {"value": 12,
                                                            "unitOfMeasurement": "PCS"}
    assert chain["weight"] == {"netValue": 3.084, "grossValue": 3.084}
    assert pads["weight"]["netValue"] == 5.67  # 5 x 2.5 lb = 5.6699 kg, rounded up
    assert chain["commodityCodes"] == [{"typeCode": "outbound", "value": "871491"}]
    assert chain["manufacturerCountry"] == "DE"
    assert declaration["invoice"] == {"number": "lbl_ch", "date": "2025-05-26"}
    assert declaration["exportReason"] == "Sale of goods"
    assert {"typeCode": "duties-taxes", "number": "123456789"} in body["accounts"]
    assert body["valueAddedServices"] == [{"serviceCode": "WY"}]
    invoice = body["outputImageProperties"]["imageOptions"][1]
    assert (invoice["typeCode"], invoice["isRequested"], invoice["invoiceType"]) == (
        "invoice", True, "commercial")
    shipper = body["customerDetails"]["shipperDetails"]
    assert shipper["registrationNumbers"] == [
        {"typeCode": "EOR", "number": "DE9876543210123", "issuerCountryCode": "DE"}]
    assert body["customerDetails"]["receiverDetails"]["registrationNumbers"][0][
        "typeCode"] == "VAT"


def test_the_vendor_sample_reply_gives_labels_per_piece_and_the_invoice() -> None:
    request = international(parcels=[BOX, BOX, BOX])
    label = mapping.parse_label(load("intl_shipment.json"), request,
                                label_id="lbl_ch", account="dhl-main", created_at=NOW,
                                paperless=True)

    assert [p.tracking_number for p in label.packages] == [
        "JD014600004617230711", "JD014600004617230712", "JD014600004617230713"]
    [invoice] = label.documents
    assert (invoice.kind, invoice.transmitted) == (DocumentKind.COMMERCIAL_INVOICE, True)


def test_label_documents_without_a_type_code_are_not_lost() -> None:
    request = international(parcels=[BOX, BOX, BOX])
    body = load("intl_shipment_untyped.json")
    label = mapping.parse_label(body, request,
                                label_id="lbl_ch", account="dhl-main", created_at=NOW)

    assert [p.data for p in label.packages] == [
        d["content"] for d in body["documents"] if "typeCode" not in d]
    assert [d.kind for d in label.documents] == [DocumentKind.COMMERCIAL_INVOICE]


def test_a_waybill_with_no_label_at_all_is_reported_as_created() -> None:
    body = load("intl_shipment.json")
    body["documents"] = [d for d in body["documents"] if d["typeCode"] == "invoice"]
    with pytest.raises(CarrierUnavailable) as caught:
        mapping.parse_label(body, international(), label_id="lbl_ch",
                            account="dhl-main", created_at=NOW)
    assert "5374534616" in caught.value.messages[0].message


@pytest.mark.parametrize(("changes", "field"), [
    ({"customs": None}, "customs"),
    ({"ship_to": ZURICH.model_copy(update={"phone": None})}, "ship_to.phone"),
    ({"customs": CUSTOMS.model_copy(update={"reason_for_export": None, "items": [
        CUSTOMS.items[0].model_copy(update={"hs_code": "87149"})]})},
     "customs.items[0].hs_code"),
])
def test_what_dhl_would_refuse_is_refused_locally(changes: dict[str, object],
                                                  field: str) -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.check_label(label_request(**({"ship_to": ZURICH, "service": "P",
                                              "customs": CUSTOMS} | changes)))
    assert field in [m.field for m in caught.value.messages]


def test_inside_the_eu_customs_union_no_declaration_is_needed() -> None:
    body = mapping.shipment_request(label_request(), CONFIG, NOW)
    assert body["content"]["isCustomsDeclarable"] is False
    assert "exportDeclaration" not in body["content"]


def test_rates_across_the_border_send_the_declared_value() -> None:
    request = RateRequest(warehouse="lej", ship_from=LEIPZIG, ship_to=ZURICH, parcels=[BOX],
                          customs=CUSTOMS)
    body = mapping.rate_request(request, CONFIG, NOW)
    assert body["isCustomsDeclarable"] is True
    assert body["monetaryAmount"] == [{"typeCode": "declaredValue", "value": 317.38,
                                       "currency": "EUR"}]


def test_taxes_in_the_price_breakdown_come_back_apart() -> None:
    rates = load("rates.json")
    product = rates["products"][0]
    product["detailedPriceBreakdown"] = [{"currencyType": "BILLC", "priceCurrency": "EUR",
                                          "breakdown": [{"name": "EXPRESS WORLDWIDE",
                                                         "price": Decimal("40.1"),
                                                         "priceBreakdown": [
                                                             {"priceType": "TAX",
                                                              "typeCode": "VAT",
                                                              "price": Decimal("7.62")}]}]}]
    [first, *_] = mapping.parse_rates(rates, "dhl-main")
    assert [(c.kind.value, c.amount) for c in first.charges] == [("taxes", Decimal("7.62"))]


@pytest.fixture
async def dhl() -> AsyncIterator[DhlExpressCarrier]:
    carrier = DhlExpressCarrier("dhl-main", CONFIG, now=lambda: NOW)
    yield carrier
    await carrier.aclose()


async def test_an_international_purchase_posts_the_declaration_and_returns_the_invoice(
        dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        route = router.post("/shipments").respond(201, json=json.loads(
            json.dumps(load("intl_shipment.json"), default=float)))
        label = await dhl.purchase(international(parcels=[BOX, BOX, BOX]),
                                   "lbl_ch")

    sent = json.loads(route.calls.last.request.content)
    assert sent["content"]["exportDeclaration"]["lineItems"][0]["description"] == (
        "Bicycle chain, 11-speed")
    assert len(label.documents) == 1 and len(label.packages) == 3
