"""UPS across borders: rating with time in transit, labels with InternationalForms, the
commercial invoice back, PDF made from UPS's GIF, local refusals and an unusable answer."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from PIL import Image

from carriers.adapters.ups import UPSCarrier, mapping
from carriers.adapters.ups.services import tracking_status
from carriers.base import CarrierRejected, CarrierUnavailable, PurchaseUndone
from carriers.models import (
    Address,
    ChargeKind,
    Customs,
    CustomsItem,
    DocumentKind,
    DutiesPayer,
    Incoterm,
    LabelFormat,
    LabelRequest,
    RateRequest,
    TaxId,
    TaxIdKind,
    TaxIdParty,
    TrackingStatus,
)
from tests.carriers.adapters.test_ups_mapping import PARCELS, WAREHOUSE, config, fixture

HOST = "https://wwwcie.ups.com"
NOW = datetime(2024, 5, 6, 14, 15, tzinfo=UTC)
TORONTO = Address(name="Marie Tremblay", company="Boutique Nord", street=["55 King St W"],
                  city="Toronto", state="ON", postal_code="M5K 1E7", country="CA",
                  phone="+1 416 555 0142", email="marie@nord.example")
BERLIN = Address(name="Jonas Weber", street=["Friedrichstraße 68"], city="Berlin",
                 postal_code="10117", country="DE", phone="+49 30 1234567")
CUSTOMS = Customs(
    incoterm=Incoterm.DDP, duties_payer=DutiesPayer.SENDER, invoice_number="INV-2024-0042",
    invoice_date=date(2024, 5, 6),
    items=[
        CustomsItem(description="Merino wool sweater", quantity=3, unit_value=Decimal("49.95"),
                    currency="USD", net_weight=Decimal("0.45"), hs_code="6110.11 00",
                    origin_country="PT", sku="SW-MER-M"),
        CustomsItem(description="Leather gloves", quantity=1, unit_value=Decimal("28.00"),
                    currency="USD", net_weight=Decimal("0.2"), hs_code="420329",
                    origin_country="IT"),
    ],
    tax_ids=[TaxId(party=TaxIdParty.EXPORTER, kind=TaxIdKind.EIN, number="123456789"),
             TaxId(party=TaxIdParty.IMPORTER, kind=TaxIdKind.EORI, number="DE123456789012345",
                   issuing_country="DE"),
             TaxId(party=TaxIdParty.EXPORTER, kind=TaxIdKind.IOSS, number="IM2760000742")])
LABEL = LabelRequest(warehouse="east-1", carrier="ups-east", service="ups_worldwide_express",
                     ship_from=WAREHOUSE, ship_to=TORONTO, parcels=PARCELS,
                     format=LabelFormat.PDF, customs=CUSTOMS)


@pytest.fixture
async def ups() -> AsyncIterator[UPSCarrier]:
    carrier = UPSCarrier("ups-east", config(), now=lambda: NOW)
    yield carrier
    await carrier.aclose()


def token() -> httpx.Response:
    return httpx.Response(200, json=fixture("token.json"))


# ---- rating ---------------------------------------------------------------------------


def test_international_rating_sends_what_time_in_transit_requires() -> None:
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=TORONTO,
                          parcels=PARCELS, customs=CUSTOMS)
    shipment = mapping.rate_request(request, config())["RateRequest"]["Shipment"]
    example = fixture("intl_rate_request_example.json")["RateRequest"]["Shipment"]

    # the same members as UPS's own "shopTime In Transit" example, in its shape
    assert set(example["ShipmentTotalWeight"]) == set(shipment["ShipmentTotalWeight"])
    assert set(example["ShipmentTotalWeight"]["UnitOfMeasurement"]) == {"Code", "Description"}
    assert shipment["ShipmentTotalWeight"] == {
        "UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": "9.6"}
    assert set(example["InvoiceLineTotal"]) == set(shipment["InvoiceLineTotal"])
    # 3 x 49.95 + 28.00 = 177.85, in whole units
    assert shipment["InvoiceLineTotal"] == {"CurrencyCode": "USD", "MonetaryValue": "178"}
    assert shipment["DeliveryTimeInformation"]["PackageBillType"] == "03"
    for package in shipment["Package"]:
        assert package["PackageWeight"]["UnitOfMeasurement"]["Description"] == "Pounds"
    assert mapping.rate_params(request) == {"additionalinfo": "timeintransit"}


def test_without_the_goods_value_international_rating_does_not_ask_for_transit_time() -> None:
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=TORONTO,
                          parcels=PARCELS)

    shipment = mapping.rate_request(request, config())["RateRequest"]["Shipment"]

    assert mapping.rate_params(request) == {}
    assert "DeliveryTimeInformation" not in shipment
    assert "ShipmentTotalWeight" in shipment


async def test_international_shop_is_called_with_time_in_transit_and_reads_taxes(
        ups: UPSCarrier) -> None:
    reply = fixture("rate_response.json")
    reply["RateResponse"]["RatedShipment"][0]["TaxCharges"] = [
        {"Type": "GST", "MonetaryValue": "3.12"}]
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=TORONTO,
                          parcels=PARCELS, customs=CUSTOMS)
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/security/v1/oauth/token").mock(return_value=token())
        route = mock.post("/api/rating/v2409/Shop").mock(
            return_value=httpx.Response(200, json=reply))
        rates = await ups.rate(request)

    sent = route.calls.last.request
    assert parse_qs(sent.url.query.decode()) == {"additionalinfo": ["timeintransit"]}
    assert "InvoiceLineTotal" in json.loads(sent.content)["RateRequest"]["Shipment"]
    taxed = rates[0]
    assert [(c.kind, c.amount, c.currency) for c in taxed.charges] == [
        (ChargeKind.TAXES, Decimal("3.12"), taxed.currency)]


async def test_a_111500_refusal_is_a_carrier_rejection(ups: UPSCarrier) -> None:
    request = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=TORONTO,
                          parcels=PARCELS, customs=CUSTOMS)
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/security/v1/oauth/token").mock(return_value=token())
        mock.post("/api/rating/v2409/Shop").mock(
            return_value=httpx.Response(400, json=fixture("rate_error_111500.json")))
        with pytest.raises(CarrierRejected) as caught:
            await ups.rate(request)

    assert [m.code for m in caught.value.messages] == ["111500"]


# ---- labels ---------------------------------------------------------------------------


def test_an_international_label_carries_description_forms_duties_and_tax_ids() -> None:
    payload = mapping.ship_request(LABEL, config(paperless_invoice=True), "lbl_intl",
                                   today=date(2024, 5, 7))
    shipment = payload["ShipmentRequest"]["Shipment"]

    assert shipment["Description"] == "Merino wool sweater, Leather gloves"
    forms = shipment["ShipmentServiceOptions"]["InternationalForms"]
    assert forms["FormType"] == ["01"]
    assert forms["InvoiceNumber"] == "INV-2024-0042"
    assert forms["InvoiceDate"] == "20240506"
    assert forms["TermsOfShipment"] == "DDP"
    assert forms["ReasonForExport"] == "SALE"
    assert forms["CurrencyCode"] == "USD"
    assert "OverridePaperlessIndicator" in forms
    first = forms["Product"][0]
    # per-unit value, HS code without its dots and spaces
    assert first["Unit"] == {"Number": "3", "Value": "49.95",
                             "UnitOfMeasurement": {"Code": "PCS", "Description": "Pieces"}}
    assert (first["CommodityCode"], first["OriginCountryCode"], first["PartNumber"]) == (
        "61101100", "PT", "SW-MER-M")
    assert shipment["PaymentInformation"]["ShipmentCharge"] == [
        {"Type": "01", "BillShipper": {"AccountNumber": "A1B2C3"}},
        {"Type": "02", "BillShipper": {"AccountNumber": "A1B2C3"}}]
    agents = shipment["GlobalTaxInformation"]["AgentTaxIdentificationNumber"]
    assert [(a["AgentRole"], [n["IDNumberTypeCode"] + "/" + n["IDNumberPurposeCode"]
                              for n in a["TaxIdentificationNumber"]]) for a in agents] == [
        ("20", ["0001/01"]), ("30", ["0002/02"])]
    assert shipment["ShipFrom"]["VendorInfo"] == {"VendorCollectIDTypeCode": "0356",
                                                  "VendorCollectIDNumber": "IM2760000742"}
    # phones as digits only: a Canadian number as area code + 7 digits
    assert shipment["ShipTo"]["Phone"] == {"Number": "4165550142"}
    # a PDF is printed from the GIF UPS renders
    assert payload["ShipmentRequest"]["LabelSpecification"]["LabelImageFormat"] == {
        "Code": "GIF"}


def test_eu_inbound_labels_say_who_ships_and_who_receives() -> None:
    berlin = LABEL.model_copy(update={"ship_to": BERLIN.model_copy(update={"residential": True})})
    shipment = mapping.ship_request(berlin, config(), "lbl_de")["ShipmentRequest"]["Shipment"]

    assert (shipment["ShipperType"], shipment["ConsigneeType"]) == ("01", "02")
    products = shipment["ShipmentServiceOptions"]["InternationalForms"]["Product"]
    assert {p["CommodityFieldSpecialConditionCode"] for p in products} == {"01"}
    toronto = mapping.ship_request(LABEL, config(), "lbl_ca")["ShipmentRequest"]["Shipment"]
    assert "ShipperType" not in toronto


def test_duties_the_receiver_pays_add_no_duties_charge() -> None:
    customs = CUSTOMS.model_copy(update={"incoterm": Incoterm.DAP,
                                         "duties_payer": DutiesPayer.RECIPIENT})
    payload = mapping.ship_request(LABEL.model_copy(update={"customs": customs}), config(),
                                   "lbl_dap")
    charges = payload["ShipmentRequest"]["Shipment"]["PaymentInformation"]["ShipmentCharge"]
    assert [c["Type"] for c in charges] == ["01"]


def test_ship_dimensions_fit_the_three_characters_the_shipping_schema_allows() -> None:
    payload = mapping.ship_request(LABEL, config(), "lbl_intl")
    for package in payload["ShipmentRequest"]["Shipment"]["Package"]:
        if "Dimensions" in package:
            dims = package["Dimensions"]
            assert all(len(dims[side]) <= 3 for side in ("Length", "Width", "Height"))
            assert dims["UnitOfMeasurement"] == {"Code": "IN", "Description": "Inches"}


@pytest.mark.parametrize(("change", "field"), [
    ({"ship_to": TORONTO.model_copy(update={"phone": None})}, "ship_to.phone"),
    ({"customs": None}, "customs"),
    ({"customs": CUSTOMS.model_copy(update={"items": [CUSTOMS.items[0].model_copy(
        update={"description": "Hand-knitted merino wool sweater, size M"})]})},
     "customs.items[0].description"),
    ({"customs": CUSTOMS.model_copy(update={"incoterm": Incoterm.DPU,
                                            "duties_payer": DutiesPayer.RECIPIENT})},
     "customs.incoterm"),
    ({"customs": CUSTOMS.model_copy(update={"incoterm": Incoterm.DAP, "duties_account": "X9Y8Z7",
                                            "duties_payer": DutiesPayer.THIRD_PARTY})},
     "customs.duties_payer"),
])
def test_what_ups_would_refuse_is_refused_locally_naming_the_field(
        change: dict[str, object], field: str) -> None:
    request = LABEL.model_copy(update=change)

    with pytest.raises(CarrierRejected) as caught:
        mapping.check_label(request)

    assert [m.field for m in caught.value.messages] == [field]
    assert "UPS Shipping v2409" in caught.value.messages[0].message


async def test_an_international_label_comes_back_as_pdf_with_its_invoice(
        ups: UPSCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/security/v1/oauth/token").mock(return_value=token())
        route = mock.post("/api/shipments/v2409/ship").mock(
            return_value=httpx.Response(200, json=fixture("intl_ship_response.json")))
        label = await ups.purchase(LABEL.model_copy(update={"parcels": PARCELS[:1]}),
                                   "lbl_intl")

    sent = json.loads(route.calls.last.request.content)["ShipmentRequest"]["Shipment"]
    assert "InternationalForms" in sent["ShipmentServiceOptions"]
    page = base64.b64decode(label.packages[0].data)
    assert page.startswith(b"%PDF")
    # one 4 x 6 inch page (288 x 432 points) from the 80 x 120 px upright image
    assert b"/MediaBox [ 0 0 288.0 432.0 ]" in page
    assert label.tracking_number == "1ZA1B2C36694827150"
    [invoice] = label.documents
    assert (invoice.kind, invoice.format) == (DocumentKind.COMMERCIAL_INVOICE, "pdf")
    assert invoice.data == fixture("intl_ship_response.json")["ShipmentResponse"][
        "ShipmentResults"]["Form"]["Image"]["GraphicImage"]


def test_png_labels_are_reencoded_from_the_gif() -> None:
    request = LABEL.model_copy(update={"format": LabelFormat.PNG, "parcels": PARCELS[:1]})
    label = mapping.parse_label(fixture("intl_ship_response.json"), request,
                                label_id="lbl_png", account="ups-east", created_at=NOW)

    with Image.open(io.BytesIO(base64.b64decode(label.packages[0].data))) as image:
        assert image.format == "PNG"
        assert image.size == (80, 120)  # UPS's landscape GIF stood upright
        assert image.mode == "1"  # black and white stays one bit deep


async def test_a_shipment_created_without_a_usable_label_is_voided_again(
        ups: UPSCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/security/v1/oauth/token").mock(return_value=token())
        mock.post("/api/shipments/v2409/ship").mock(
            return_value=httpx.Response(200, json=fixture("intl_ship_response_no_label.json")))
        void = mock.delete("/api/shipments/v2409/void/cancel/1ZA1B2C36694827150").mock(
            return_value=httpx.Response(200, json=fixture("void_response.json")))
        with pytest.raises(PurchaseUndone) as caught:
            await ups.purchase(LABEL, "lbl_intl")

    assert void.called
    assert [m.code for m in caught.value.messages] == ["unexpected_reply", "shipment_voided"]


async def test_when_the_void_fails_too_the_outcome_stays_unknown(ups: UPSCarrier) -> None:
    with respx.mock(base_url=HOST, assert_all_called=True) as mock:
        mock.post("/security/v1/oauth/token").mock(return_value=token())
        mock.post("/api/shipments/v2409/ship").mock(
            return_value=httpx.Response(200, json=fixture("intl_ship_response_no_label.json")))
        mock.delete("/api/shipments/v2409/void/cancel/1ZA1B2C36694827150").mock(
            return_value=httpx.Response(400, json=fixture("void_refused.json")))
        with pytest.raises(CarrierUnavailable) as caught:
            await ups.purchase(LABEL, "lbl_intl")

    assert not isinstance(caught.value, PurchaseUndone)
    assert caught.value.messages[-1].code == "shipment_not_voided"


@pytest.mark.parametrize("code", ["146", "162"])
def test_status_codes_146_and_162_are_out_for_delivery(code: str) -> None:
    assert tracking_status("I", code) is TrackingStatus.OUT_FOR_DELIVERY
