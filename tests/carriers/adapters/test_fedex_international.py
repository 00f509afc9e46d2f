"""FedEx across borders: customsClearanceDetail on rates and labels, estimated duties,
the commercial invoice from shipmentDocuments, ETD, phones refused locally, and an
unusable answer cancelled again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import respx

from carriers.adapters.fedex import FedExCarrier, mapping
from carriers.base import CarrierRejected, PurchaseUndone
from carriers.models import (
    Address,
    ChargeKind,
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
from tests.carriers.adapters.test_fedex_mapping import (
    LABEL_REQUEST,
    PARCELS,
    WAREHOUSE,
    config,
    fixture,
)

HOST = "https://apis-sandbox.fedex.com"
NOW = datetime(2024, 5, 6, 14, 15, tzinfo=UTC)
LONDON = Address(name="Oliver Hughes", company="Hughes & Daughters Ltd",
                 street=["221B Baker Street"], city="London", postal_code="NW1 6XE",
                 country="GB", phone="+44 20 7946 0958", email="oliver@hughes.example")
CUSTOMS = Customs(
    duties_payer=DutiesPayer.RECIPIENT, invoice_number="INV-77",
    items=[CustomsItem(description="Stainless steel espresso tamper", quantity=4,
                       unit_value=Decimal("18.99"), currency="USD", net_weight=Decimal("0.75"),
                       weight_unit=WeightUnit.LB, hs_code="8210.00", origin_country="US",
                       sku="TMP-58")],
    tax_ids=[TaxId(party=TaxIdParty.IMPORTER, kind=TaxIdKind.EORI, number="GB123456789000")])
LABEL = LABEL_REQUEST.model_copy(update={
    "service": "INTERNATIONAL_PRIORITY", "ship_to": LONDON, "customs": CUSTOMS})


@pytest.fixture
async def fedex() -> AsyncIterator[FedExCarrier]:
    carrier = FedExCarrier("fedex-east", config(), now=lambda: NOW)
    yield carrier
    await carrier.aclose()


def test_international_label_carries_customs_clearance_in_the_vendors_units() -> None:
    payload = mapping.ship_request(LABEL, config(electronic_trade_documents=True))
    shipment = payload["requestedShipment"]
    clearance = shipment["customsClearanceDetail"]

    assert clearance["dutiesPayment"] == {"paymentType": "RECIPIENT"}
    assert clearance["isDocumentOnly"] is False
    assert clearance["commercialInvoice"] == {
        "shipmentPurpose": "SOLD", "termsOfSale": "DAP",
        "customerReferences": [{"customerReferenceType": "INVOICE_NUMBER", "value": "INV-77"}]}
    assert clearance["totalCustomsValue"] == {"amount": 75.96, "currency": "USD"}
    [commodity] = clearance["commodities"]
    # unit price per unit, customs value and weight for the whole line, in the package unit
    assert commodity["unitPrice"] == {"amount": 18.99, "currency": "USD"}
    assert commodity["customsValue"] == {"amount": 75.96, "currency": "USD"}
    assert commodity["weight"] == {"units": "LB", "value": 3.0}
    assert (commodity["quantity"], commodity["quantityUnits"]) == (4, "PCS")
    assert (commodity["harmonizedCode"], commodity["countryOfManufacture"]) == ("821000", "US")
    assert shipment["shippingDocumentSpecification"]["shippingDocumentTypes"] == [
        "COMMERCIAL_INVOICE"]
    assert shipment["shipmentSpecialServices"]["specialServiceTypes"] == [
        "ELECTRONIC_TRADE_DOCUMENTS"]
    assert shipment["recipients"][0]["contact"]["phoneNumber"] == "442079460958"
    assert shipment["recipients"][0]["tins"] == [
        {"number": "GB123456789000", "tinType": "BUSINESS_UNION"}]


def test_international_rating_sends_commodities_and_asks_for_duties() -> None:
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=LONDON,
                          parcels=PARCELS, customs=CUSTOMS)

    shipment = mapping.rate_request(request, config())["requestedShipment"]

    assert shipment["customsClearanceDetail"]["commodities"][0]["description"] == (
        "Stainless steel espresso tamper")
    assert shipment["edtRequestType"] == "ALL"


def test_international_rating_without_customs_is_refused_locally() -> None:
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=LONDON,
                          parcels=PARCELS)

    with pytest.raises(CarrierRejected) as caught:
        mapping.rate_request(request, config())

    assert caught.value.messages[0].field == "customs"


def test_estimated_duties_and_taxes_come_back_as_a_separate_charge() -> None:
    [rate, *_] = mapping.parse_rates(fixture("intl_rate_response.json"), "fedex-east")

    assert [(c.kind, c.amount) for c in rate.charges] == [
        (ChargeKind.DUTIES_AND_TAXES, Decimal("41.87"))]
    assert rate.amount == Decimal("17.95")  # the shipping charge alone


@pytest.mark.parametrize(("phone", "message"), [
    (None, "required"), ("555 0199", "10 digits"), ("+1 (678) 555-0199", None)])
def test_a_missing_or_short_recipient_phone_is_refused_before_any_call(
        phone: str | None, message: str | None) -> None:
    customer = LABEL_REQUEST.ship_to.model_copy(update={"phone": phone})
    request = LABEL_REQUEST.model_copy(update={"ship_to": customer})
    if message is None:
        mapping.check_label(request)
        return
    with pytest.raises(CarrierRejected) as caught:
        mapping.check_label(request)
    assert [m.field for m in caught.value.messages] == ["ship_to.phone"]
    assert message in caught.value.messages[0].message


async def test_an_international_purchase_returns_the_invoice_beside_the_labels(
        fedex: FedExCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/oauth/token").respond(200, json=fixture("token.json"))
        route = mock.post("/ship/v1/shipments").respond(
            200, json=fixture("intl_ship_response.json"))
        label = await fedex.purchase(LABEL, "lbl_intl")

    sent = json.loads(route.calls.last.request.content)
    assert "customsClearanceDetail" in sent["requestedShipment"]
    [invoice] = label.documents
    assert invoice.kind is DocumentKind.COMMERCIAL_INVOICE
    assert invoice.data.startswith("JVBERi0")
    assert len(label.packages) == 2


async def test_a_vendor_error_on_an_international_label_is_a_rejection(
        fedex: FedExCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/oauth/token").respond(200, json=fixture("token.json"))
        mock.post("/ship/v1/shipments").respond(403, json=fixture("ship_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await fedex.purchase(LABEL, "lbl_intl")

    assert caught.value.messages[0].code == "SHIPMENT.USER.UNAUTHORIZED"


async def test_a_shipment_created_without_labels_is_cancelled_again(
        fedex: FedExCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/oauth/token").respond(200, json=fixture("token.json"))
        mock.post("/ship/v1/shipments").respond(
            200, json=fixture("intl_ship_response_no_label.json"))
        cancel = mock.put("/ship/v1/shipments/cancel").respond(
            200, json=fixture("cancel_response.json"))
        with pytest.raises(PurchaseUndone):
            await fedex.purchase(LABEL, "lbl_intl")

    assert json.loads(cancel.calls.last.request.content)["trackingNumber"] == "794953535000"


def test_fedex_refuses_an_incoterm_it_does_not_take() -> None:
    customs = CUSTOMS.model_copy(update={"incoterm": Incoterm.DPU})
    with pytest.raises(CarrierRejected) as caught:
        mapping.check_label(LABEL.model_copy(update={"customs": customs}))
    assert [m.field for m in caught.value.messages] == ["customs.incoterm"]


def test_labels_inside_one_country_need_no_customs() -> None:
    mapping.check_label(LabelRequest.model_validate(LABEL_REQUEST.model_dump()))
