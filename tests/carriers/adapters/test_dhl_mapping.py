"""DHL Express pure mapping: requests mapped, success fixtures parsed, error fixtures parsed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carriers.adapters.dhl import mapping
from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import CapabilityMissing, CarrierRejected, CarrierUnavailable
from carriers.models import (
    Address,
    Dimensions,
    DimensionUnit,
    LabelFormat,
    LabelRequest,
    Parcel,
    RateRequest,
    ServiceLevel,
    TrackingStatus,
    WeightUnit,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dhl"
NOW = datetime(2025, 5, 26, 13, 0, tzinfo=UTC)
CONFIG = DhlExpressConfig.model_validate({
    "api_key": "key", "api_secret": "secret", "account_number": "123456789",
    "environment": "test", "timezone": "Europe/Berlin"})
LEIPZIG = Address(name="Lena Fischer", company="Acme Distribution GmbH",
                  street=["Radefelder Allee 2"], city="Schkeuditz", postal_code="04435",
                  country="DE", phone="+49 341 4499 0", email="ship@acme.example")
AMSTERDAM = Address(name="Joost de Vries", street=["Prinsengracht 263"], city="Amsterdam",
                    postal_code="1016 GV", country="NL", phone="+31 20 555 0199",
                    residential=True)
BOX = Parcel(weight=Decimal("2.5"), dimensions=Dimensions(length=Decimal("30"),
                                                          width=Decimal("20"),
                                                          height=Decimal("10")))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def label_request(**changes: Any) -> LabelRequest:
    fields: dict[str, Any] = {
        "warehouse": "lej", "carrier": "dhl-main", "service": "U", "ship_from": LEIPZIG,
        "ship_to": AMSTERDAM, "parcels": [BOX, BOX], "reference": "SO-1042"}
    return LabelRequest(**(fields | changes))


def test_rate_request_maps_addresses_and_packages_in_metric() -> None:
    pounds = Parcel(weight=Decimal("5.5"), weight_unit=WeightUnit.LB,
                    dimensions=Dimensions(length=Decimal("12"), width=Decimal("8"),
                                          height=Decimal("4"), unit=DimensionUnit.IN))
    request = RateRequest(warehouse="lej", ship_from=LEIPZIG, ship_to=AMSTERDAM,
                          parcels=[BOX, pounds])

    assert mapping.rate_request(request, CONFIG, NOW) == {
        "customerDetails": {
            "shipperDetails": {"postalCode": "04435", "cityName": "Schkeuditz",
                               "countryCode": "DE"},
            "receiverDetails": {"postalCode": "1016 GV", "cityName": "Amsterdam",
                                "countryCode": "NL"}},
        "accounts": [{"typeCode": "shipper", "number": "123456789"}],
        "plannedShippingDateAndTime": "2025-05-26T15:10:00 GMT+02:00",
        "unitOfMeasurement": "metric",
        "isCustomsDeclarable": False,
        "nextBusinessDay": True,
        "packages": [
            {"weight": 2.5, "dimensions": {"length": 30.0, "width": 20.0, "height": 10.0}},
            {"weight": 2.495, "dimensions": {"length": 30.5, "width": 20.4, "height": 10.2}},
        ],
    }


@pytest.mark.parametrize(("origin", "destination", "declarable"), [
    ("DE", "DE", False), ("DE", "NL", False), ("FR", "MC", False),
    ("DE", "CH", True), ("GB", "FR", True), ("US", "CA", True)])
def test_customs_declaration_is_needed_outside_the_eu_customs_union(
        origin: str, destination: str, declarable: bool) -> None:
    ship_from = LEIPZIG.model_copy(update={"country": origin})
    ship_to = AMSTERDAM.model_copy(update={"country": destination})

    assert mapping.customs_declarable(ship_from, ship_to) is declarable


def test_planned_shipping_time_is_local_with_offset_and_a_little_ahead() -> None:
    assert mapping.planned_shipping(NOW, ZoneInfo("UTC")) == "2025-05-26T13:10:00 GMT+00:00"
    assert mapping.planned_shipping(NOW, ZoneInfo("America/Chicago")) == (
        "2025-05-26T08:10:00 GMT-05:00")
    assert len(mapping.planned_shipping(NOW, ZoneInfo("Asia/Kolkata"))) <= 29


def test_rates_use_the_billing_currency_and_drop_unpriced_products() -> None:
    rates = mapping.parse_rates(load("rates.json"), "dhl-main")

    assert [(r.service, r.service_level, r.amount, r.currency, r.estimated_transit_days)
            for r in rates] == [
        ("U", ServiceLevel.EXPEDITED, Decimal("45.81"), "EUR", 1),
        ("T", ServiceLevel.OVERNIGHT, Decimal("58.17"), "EUR", 1),
        ("W", ServiceLevel.ECONOMY, Decimal("23.42"), "EUR", 3),
    ]
    assert {(r.carrier, r.carrier_account) for r in rates} == {("dhl_express", "dhl-main")}


@pytest.mark.parametrize(("code", "name", "level"), [
    ("P", "EXPRESS WORLDWIDE NONDOC", ServiceLevel.EXPEDITED),
    ("D", "EXPRESS WORLDWIDE DOC", ServiceLevel.EXPEDITED),
    ("E", "EXPRESS 9:00 NONDOC", ServiceLevel.OVERNIGHT),
    ("Y", "EXPRESS 12:00 NONDOC", ServiceLevel.OVERNIGHT),
    ("M", "EXPRESS 10:30 NONDOC", ServiceLevel.OVERNIGHT),
    ("N", "EXPRESS DOMESTIC", ServiceLevel.OVERNIGHT),
    ("H", "ECONOMY SELECT NONDOC", ServiceLevel.ECONOMY),
    ("W", "ECONOMY SELECT", ServiceLevel.ECONOMY),
    ("Z9", "ECONOMY SELECT SPECIAL", ServiceLevel.ECONOMY),
    ("Z8", "EXPRESS DOMESTIC 12:00 PLUS", ServiceLevel.OVERNIGHT),
    ("Z7", "MEDICAL EXPRESS", ServiceLevel.EXPEDITED),
])
def test_products_map_to_service_levels(code: str, name: str, level: ServiceLevel) -> None:
    assert mapping.service_level(code, name) == level


def test_shipment_request_maps_parties_pieces_and_label_options() -> None:
    body = mapping.shipment_request(label_request(format=LabelFormat.ZPL), CONFIG, NOW)

    assert body == {
        "plannedShippingDateAndTime": "2025-05-26T15:10:00 GMT+02:00",
        "pickup": {"isRequested": False},
        "productCode": "U",
        "getRateEstimates": True,
        "accounts": [{"typeCode": "shipper", "number": "123456789"}],
        "outputImageProperties": {
            "encodingFormat": "zpl",
            "imageOptions": [{"typeCode": "label", "templateName": "ECOM26_84_001"}],
            "splitTransportAndWaybillDocLabels": True,
            "allDocumentsInOneImage": False,
            "splitDocumentsByPages": True,
        },
        "customerDetails": {
            "shipperDetails": {
                "postalAddress": {"postalCode": "04435", "cityName": "Schkeuditz",
                                  "countryCode": "DE", "addressLine1": "Radefelder Allee 2"},
                "contactInformation": {"phone": "+49 341 4499 0",
                                       "companyName": "Acme Distribution GmbH",
                                       "fullName": "Lena Fischer",
                                       "email": "ship@acme.example"},
                "typeCode": "business"},
            "receiverDetails": {
                "postalAddress": {"postalCode": "1016 GV", "cityName": "Amsterdam",
                                  "countryCode": "NL", "addressLine1": "Prinsengracht 263"},
                "contactInformation": {"phone": "+31 20 555 0199",
                                       "companyName": "Joost de Vries",
                                       "fullName": "Joost de Vries"},
                "typeCode": "private"},
        },
        "content": {
            "packages": [
                {"weight": 2.5, "dimensions": {"length": 30.0, "width": 20.0, "height": 10.0}},
                {"weight": 2.5, "dimensions": {"length": 30.0, "width": 20.0, "height": 10.0}},
            ],
            "isCustomsDeclarable": False,
            "description": "General merchandise",
            "incoterm": "DAP",
            "unitOfMeasurement": "metric",
        },
        "customerReferences": [{"value": "SO-1042", "typeCode": "CU"}],
    }


@pytest.mark.parametrize(("changes", "code"), [
    ({"format": LabelFormat.PNG}, "unsupported_format"),
    ({"service": "PRIORITY_MAIL"}, "unsupported_service"),
    ({"ship_to": AMSTERDAM.model_copy(update={"phone": None})}, "phone_required"),
    ({"ship_to": AMSTERDAM.model_copy(update={"country": "CH", "postal_code": "8001"})},
     "customs_rule"),
])
def test_shipments_dhl_would_refuse_are_refused_before_any_call(changes: dict[str, Any],
                                                                 code: str) -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.shipment_request(label_request(**changes), CONFIG, NOW)

    assert caught.value.messages[0].code == code


def test_png_refusal_names_the_formats_dhl_offers() -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.shipment_request(label_request(format=LabelFormat.PNG), CONFIG, NOW)

    assert caught.value.messages[0].message == "DHL Express labels come as PDF or ZPL, not png"


def test_shipment_response_gives_one_label_document_per_piece() -> None:
    label = mapping.parse_label(load("shipment.json"), label_request(), label_id="lbl-7",
                                account="dhl-main", created_at=NOW)

    assert (label.id, label.carrier, label.carrier_account, label.service) == (
        "lbl-7", "dhl_express", "dhl-main", "U")
    assert label.tracking_number == "5374534616"
    assert [(p.tracking_number, p.data[:12]) for p in label.packages] == [
        ("JD014600004617230711", "JVBERi0xLjQK"), ("JD014600004617230712", "JVBERi0xLjQK")]
    assert label.packages[0].data != label.packages[1].data
    assert (label.charge, label.currency, label.format) == (Decimal("45.81"), "EUR",
                                                            LabelFormat.PDF)


def test_one_untagged_document_serves_every_piece_and_missing_charges_say_so() -> None:
    body = load("shipment.json")
    body["documents"] = [{"imageFormat": "PDF", "content": "QUxM", "typeCode": "label"}]
    del body["shipmentCharges"]

    label = mapping.parse_label(body, label_request(), label_id="lbl-7", account="dhl-main",
                                created_at=NOW)

    assert [p.data for p in label.packages] == ["QUxM", "QUxM"]
    assert (label.charge, label.currency) == (Decimal("0.00"), "XXX")


def test_a_waybill_without_label_document_is_reported_with_its_number() -> None:
    body = load("shipment.json") | {"documents": []}

    with pytest.raises(CarrierUnavailable) as caught:
        mapping.parse_label(body, label_request(), label_id="lbl-7", account="dhl-main",
                            created_at=NOW)

    assert "5374534616" in caught.value.messages[0].message


def test_void_is_a_missing_capability_naming_the_waybill() -> None:
    error = mapping.void_unsupported("5374534616")

    assert isinstance(error, CapabilityMissing)
    assert error.messages[0].code == "void_unsupported"
    assert "5374534616" in error.messages[0].message


def test_tracking_is_parsed_newest_first_with_the_latest_status() -> None:
    result = mapping.parse_tracking(load("tracking.json"), "5374534616")

    assert result.status == TrackingStatus.OUT_FOR_DELIVERY
    assert result.estimated_delivery == date(2025, 5, 27)
    assert [(e.carrier_code, e.status) for e in result.events] == [
        ("WC", TrackingStatus.OUT_FOR_DELIVERY), ("AF", TrackingStatus.IN_TRANSIT),
        ("DF", TrackingStatus.IN_TRANSIT), ("PU", TrackingStatus.IN_TRANSIT)]
    newest = result.events[0]
    assert newest.occurred_at == datetime(2025, 5, 27, 8, 50, 14,
                                          tzinfo=timezone(timedelta(hours=2)))
    assert (newest.location, newest.description) == (
        "AMSTERDAM-NL", "Shipment is out with courier for delivery")


def test_tracking_without_checkpoints_is_pre_transit() -> None:
    body = {"shipments": [{"shipmentTrackingNumber": "5374534616", "status": "Success",
                           "events": []}]}

    assert mapping.parse_tracking(body, "5374534616").status == TrackingStatus.PRE_TRANSIT


@pytest.mark.parametrize(("fixture", "status", "expected"), [
    ("shipment_error.json", 400, [
        ("7008", "The requested Special Service Code #/valueAddedServices/0/serviceCode 'EE' "
                 "is not available between this origin and destination. Please validate the "
                 "products and services combination (via the /rates or /products service) or "
                 "contact our customer service."),
        ("1001", "The requested product(s) (U) not available based on your search criteria.")]),
    ("rates_error.json", 400, [
        ("400", "The account number is not found or invalid. Please check the account number "
                "and retry.")]),
    ("server_error.json", 500, [
        ("999", "Process failure occurred. Process ID associated for that transaction "
                "(1234567890)")]),
    ("shipment_invalid.json", 422, [
        ("422", "#/content/packages/0/identifiers/0: extraneous key [dataIdentifier] is not "
                "permitted")]),
    ("tracking_error.json", 404, [("404", "No data found")]),
])
def test_problem_bodies_become_carrier_messages(fixture: str, status: int,
                                                expected: list[tuple[str, str]]) -> None:
    messages = mapping.error_messages(status, load(fixture))

    assert [(m.code, m.message) for m in messages] == expected
    assert {m.carrier for m in messages} == {"dhl_express"}


def test_non_json_error_bodies_leave_the_generic_message_to_the_transport() -> None:
    assert mapping.error_messages(502, None) == []
