"""FedEx pure mapping: requests built and replies read, on fixtures shaped like FedEx's examples."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from carriers.adapters.fedex import mapping
from carriers.adapters.fedex.config import FedExConfig
from carriers.adapters.fedex.services import service_level, service_type, tracking_status
from carriers.base import CarrierRejected
from carriers.models import (
    Address,
    CarrierMessage,
    Dimensions,
    DimensionUnit,
    Label,
    LabelFormat,
    LabelRequest,
    Parcel,
    RateRequest,
    ServiceLevel,
    TrackingStatus,
    WeightUnit,
)

FIXTURES = Path(__file__).parent / "fixtures" / "fedex"
ACCOUNT = "fedex-east"
CREATED = datetime(2024, 5, 6, 14, 15, tzinfo=UTC)
EDT = timezone(timedelta(hours=-4))

WAREHOUSE = Address(name="Dock Supervisor", company="Acme Distribution", street=["2311 York Rd"],
                    city="Timonium", state="MD", postal_code="21093", country="US",
                    phone="4105550100", email="dock@acme.example")
CUSTOMER = Address(name="Jane Doe", street=["12380 Morris Rd", "Suite 4"], city="Alpharetta",
                   state="GA", postal_code="30005", country="US", phone="6785550199",
                   residential=True)
PARCELS = [
    Parcel(weight=Decimal("2.5"), weight_unit=WeightUnit.KG,
           dimensions=Dimensions(length=Decimal(30), width=Decimal(20), height=Decimal(10),
                                 unit=DimensionUnit.CM)),
    Parcel(weight=Decimal(4), weight_unit=WeightUnit.LB),
]
RATE_REQUEST = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=CUSTOMER,
                           parcels=PARCELS)
LABEL_REQUEST = LabelRequest(warehouse="east-1", carrier="fedex-east", service="fedex_ground",
                             ship_from=WAREHOUSE, ship_to=CUSTOMER, parcels=PARCELS,
                             format=LabelFormat.PDF, reference="SO-1042")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def config(**overrides: Any) -> FedExConfig:
    options: dict[str, Any] = {"client_id": "sandbox-client-id", "client_secret": "sandbox-secret",
                               "account_number": "740561073", "environment": "test"}
    return FedExConfig.model_validate({**options, **overrides})


def label(**overrides: Any) -> Label:
    values: dict[str, Any] = {
        "id": "lbl_01", "carrier": "fedex", "carrier_account": ACCOUNT,
        "service": "fedex_ground", "tracking_number": "794953535000",
        "format": LabelFormat.PDF, "packages": [], "charge": Decimal("17.95"),
        "currency": "USD", "created_at": CREATED,
    }
    return Label.model_validate({**values, **overrides})


# ---- rate ---------------------------------------------------------------------------


def test_rate_request_maps_the_shipment_to_a_quote_for_all_services() -> None:
    assert mapping.rate_request(RATE_REQUEST, config()) == fixture("rate_request.json")


def test_rate_request_never_pairs_dimensions_with_a_fedex_packaging_type() -> None:
    shipment = mapping.rate_request(RATE_REQUEST, config())["requestedShipment"]

    assert shipment["packagingType"] == "YOUR_PACKAGING"
    assert "dimensions" in shipment["requestedPackageLineItems"][0]
    assert all("subPackagingType" not in item for item in shipment["requestedPackageLineItems"])


def test_rate_request_uses_kilograms_and_whole_centimetres_outside_the_us() -> None:
    paris = WAREHOUSE.model_copy(update={"city": "Paris", "state": None,
                                         "postal_code": "75008", "country": "FR"})
    parcel = Parcel(weight=Decimal("10"), weight_unit=WeightUnit.LB,
                    dimensions=Dimensions(length=Decimal("10.2"), width=Decimal(6),
                                          height=Decimal(4), unit=DimensionUnit.IN))
    paris_customer = CUSTOMER.model_copy(update={"city": "Paris", "state": None,
                                                 "postal_code": "75001", "country": "FR"})
    request = RATE_REQUEST.model_copy(update={"ship_from": paris, "ship_to": paris_customer,
                                              "parcels": [parcel]})

    item = mapping.rate_request(request, config())["requestedShipment"][
        "requestedPackageLineItems"][0]

    assert item["weight"] == {"units": "KG", "value": 4.6}
    assert item["dimensions"] == {"length": 26, "width": 16, "height": 11, "units": "CM"}
    assert "stateOrProvinceCode" not in mapping.rate_request(request, config())[
        "requestedShipment"]["shipper"]["address"]


def test_rates_are_parsed_preferring_the_account_rate() -> None:
    rates = mapping.parse_rates(fixture("rate_response.json"), ACCOUNT)

    summary = [(r.service, r.service_level, r.amount, r.currency, r.estimated_transit_days)
               for r in rates]
    assert summary == [
        ("fedex_ground", ServiceLevel.GROUND, Decimal("17.95"), "USD", 3),
        ("fedex_2_day", ServiceLevel.EXPEDITED, Decimal("39.28"), "USD", 2),
        ("priority_overnight", ServiceLevel.OVERNIGHT, Decimal("96.40"), "USD", None),
    ]
    assert {(r.carrier, r.carrier_account) for r in rates} == {("fedex", ACCOUNT)}


def test_rate_reply_without_details_is_unexpected() -> None:
    with pytest.raises(mapping.UnexpectedReply):
        mapping.parse_rates({"output": {"alerts": []}}, ACCOUNT)


@pytest.mark.parametrize(("kind", "level"), [
    ("FEDEX_GROUND", ServiceLevel.GROUND),
    ("GROUND_HOME_DELIVERY", ServiceLevel.GROUND),
    ("FEDEX_2_DAY", ServiceLevel.EXPEDITED),
    ("FEDEX_EXPRESS_SAVER", ServiceLevel.EXPEDITED),
    ("PRIORITY_OVERNIGHT", ServiceLevel.OVERNIGHT),
    ("STANDARD_OVERNIGHT", ServiceLevel.OVERNIGHT),
    ("FIRST_OVERNIGHT", ServiceLevel.OVERNIGHT),
    ("FEDEX_INTERNATIONAL_PRIORITY", ServiceLevel.EXPEDITED),
    ("INTERNATIONAL_ECONOMY", ServiceLevel.ECONOMY),
    ("FEDEX_INTERNATIONAL_GROUND", ServiceLevel.GROUND),
    ("FEDEX_PRIORITY_OVERNIGHT_EXTRA_HOURS", ServiceLevel.OVERNIGHT),
    ("FEDEX_SOMETHING_NEW", ServiceLevel.EXPEDITED),
])
def test_service_types_map_to_levels(kind: str, level: ServiceLevel) -> None:
    assert service_level(kind) is level


def test_our_service_ids_turn_back_into_service_types() -> None:
    assert service_type("fedex_ground") == "FEDEX_GROUND"
    assert service_type("PRIORITY_OVERNIGHT") == "PRIORITY_OVERNIGHT"
    assert service_type("ups ground") is None


# ---- ship ---------------------------------------------------------------------------


def test_ship_request_maps_the_label_request_to_one_multi_piece_shipment() -> None:
    assert mapping.ship_request(LABEL_REQUEST, config()) == fixture("ship_request.json")


@pytest.mark.parametrize(("label_format", "image", "stock"), [
    (LabelFormat.PDF, "PDF", "PAPER_4X6"),
    (LabelFormat.PNG, "PNG", "PAPER_4X6"),
    (LabelFormat.ZPL, "ZPLII", "STOCK_4X675_LEADING_DOC_TAB"),
])
def test_label_formats_pick_image_type_and_stock(label_format: LabelFormat, image: str,
                                                 stock: str) -> None:
    request = LABEL_REQUEST.model_copy(update={"format": label_format})
    payload = mapping.ship_request(
        request, config(thermal_label_stock="STOCK_4X675_LEADING_DOC_TAB"))

    assert payload["requestedShipment"]["labelSpecification"] == {
        "imageType": image, "labelStockType": stock}


def test_an_unusable_service_is_rejected() -> None:
    request = LABEL_REQUEST.model_copy(update={"service": "next day please"})
    with pytest.raises(CarrierRejected, match="unknown_service"):
        mapping.ship_request(request, config())


def test_ship_reply_becomes_a_label_with_every_piece() -> None:
    result = mapping.parse_label(fixture("ship_response.json"), LABEL_REQUEST, config(),
                                 label_id="lbl_01", account=ACCOUNT, created_at=CREATED)

    assert result.model_dump(exclude={"packages"}) == {
        "id": "lbl_01", "carrier": "fedex", "carrier_account": ACCOUNT,
        "service": "fedex_ground", "tracking_number": "794953535000",
        "format": LabelFormat.PDF, "charge": Decimal("17.95"), "currency": "USD",
        "carrier_shipment_id": None, "created_at": CREATED, "voided": False, "documents": [],
    }
    pieces = fixture("ship_response.json")["output"]["transactionShipments"][0]["pieceResponses"]
    assert [(p.tracking_number, p.data) for p in result.packages] == [
        (piece["trackingNumber"], piece["packageDocuments"][0]["encodedLabel"])
        for piece in pieces]


def test_a_label_without_shipment_rating_adds_up_the_piece_charges() -> None:
    body = fixture("ship_response.json")
    del body["output"]["transactionShipments"][0]["completedShipmentDetail"]["shipmentRating"]

    result = mapping.parse_label(body, LABEL_REQUEST, config(default_currency="CAD"),
                                 label_id="lbl_01", account=ACCOUNT, created_at=CREATED)

    assert (result.charge, result.currency) == (Decimal("17.95"), "CAD")


def test_a_single_piece_label_found_among_shipment_documents_is_used() -> None:
    body = fixture("ship_response.json")
    shipment = body["output"]["transactionShipments"][0]
    piece = shipment["pieceResponses"][0]
    shipment["pieceResponses"] = [piece]
    shipment["shipmentDocuments"] = piece.pop("packageDocuments")

    result = mapping.parse_label(body, LABEL_REQUEST, config(), label_id="lbl_01",
                                 account=ACCOUNT, created_at=CREATED)

    assert result.packages[0].data == shipment["shipmentDocuments"][0]["encodedLabel"]


def test_a_piece_without_its_label_is_unexpected() -> None:
    body = fixture("ship_response.json")
    del body["output"]["transactionShipments"][0]["pieceResponses"][1]["packageDocuments"]
    with pytest.raises(mapping.UnexpectedReply):
        mapping.parse_label(body, LABEL_REQUEST, config(), label_id="lbl_01",
                            account=ACCOUNT, created_at=CREATED)


# ---- cancel -------------------------------------------------------------------------


def test_cancel_request_deletes_all_packages_of_the_master_number() -> None:
    assert mapping.cancel_request(label(), config()) == {
        "accountNumber": {"value": "740561073"},
        "trackingNumber": "794953535000",
        "deletionControl": "DELETE_ALL_PACKAGES",
    }


def test_a_cancelled_shipment_is_a_successful_void() -> None:
    result = mapping.parse_cancel(fixture("cancel_response.json"), label())
    assert (result.carrier, result.voided, result.message) == ("fedex", True, None)


def test_a_declined_cancel_keeps_the_carrier_words() -> None:
    result = mapping.parse_cancel(fixture("cancel_declined.json"), label())
    assert result.voided is False
    assert result.message == ("Shipment cannot be cancelled.; "
                              "Shipment has already been tendered to FedEx.")


# ---- track --------------------------------------------------------------------------


def test_track_request_asks_for_detailed_scans() -> None:
    assert mapping.track_request("794953535000") == {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": "794953535000"}}],
    }


def test_tracking_results_become_normalized_events_newest_first() -> None:
    tracking = mapping.parse_tracking(fixture("track_response.json"), "794953535000")

    assert tracking.status is TrackingStatus.DELIVERED
    assert tracking.estimated_delivery is None
    assert [(e.status, e.carrier_code) for e in tracking.events] == [
        (TrackingStatus.DELIVERED, "DL"),
        (TrackingStatus.OUT_FOR_DELIVERY, "OD"),
        (TrackingStatus.EXCEPTION, "DE"),
        (TrackingStatus.IN_TRANSIT, "PU"),
        (TrackingStatus.PRE_TRANSIT, "OC"),
    ]
    assert tracking.events[0].occurred_at == datetime(2024, 5, 9, 13, 42, tzinfo=EDT)
    assert tracking.events[0].location == "ALPHARETTA, GA, US"
    assert tracking.events[2].description == "Delivery exception: Recipient not in"
    assert tracking.events[-1].location is None


def test_an_in_transit_package_reports_its_estimated_delivery() -> None:
    tracking = mapping.parse_tracking(fixture("track_in_transit.json"), "794953535000")
    assert tracking.status is TrackingStatus.OUT_FOR_DELIVERY
    assert tracking.estimated_delivery == date(2024, 5, 9)


@pytest.mark.parametrize(("code", "expected"), [
    ("OC", TrackingStatus.PRE_TRANSIT),
    ("IN", TrackingStatus.PRE_TRANSIT),
    ("PU", TrackingStatus.IN_TRANSIT),
    ("IT", TrackingStatus.IN_TRANSIT),
    ("OD", TrackingStatus.OUT_FOR_DELIVERY),
    ("DL", TrackingStatus.DELIVERED),
    ("DE", TrackingStatus.EXCEPTION),
    ("SE", TrackingStatus.EXCEPTION),
    ("RS", TrackingStatus.RETURNED),
    ("ZZ", TrackingStatus.UNKNOWN),
])
def test_status_codes_normalize(code: str, expected: TrackingStatus) -> None:
    assert tracking_status(code) is expected


def test_a_not_found_inside_a_success_reply_is_rejected() -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.parse_tracking(fixture("track_not_found.json"), "123456789012")
    assert [m.code for m in caught.value.messages] == ["TRACKING.TRACKINGNUMBER.NOTFOUND"]


# ---- errors and config --------------------------------------------------------------


def test_error_bodies_become_carrier_messages() -> None:
    response = httpx.Response(400, json=fixture("rate_error.json"))
    assert mapping.parse_errors("fedex", response) == [CarrierMessage(
        carrier="fedex", code="ACCOUNT.NUMBER.MISMATCH",
        message="When payment Type is SENDER, ShippingChargesPayment Payor AccountNumber "
                "should match the shipper account number.")]


def test_error_bodies_that_are_not_json_give_no_messages() -> None:
    assert mapping.parse_errors("fedex", httpx.Response(502, text="Bad gateway")) == []


def test_token_form_carries_the_client_credentials() -> None:
    assert mapping.token_form(config()) == {"grant_type": "client_credentials",
                                            "client_id": "sandbox-client-id",
                                            "client_secret": "sandbox-secret"}
    assert mapping.parse_token(fixture("token.json"))[1] == 3599.0


def test_config_picks_the_host_per_environment_and_honours_an_override() -> None:
    assert config().url == "https://apis-sandbox.fedex.com"
    assert config(environment="production").url == "https://apis.fedex.com"
    assert config(base_url="http://127.0.0.1:9000").url == "http://127.0.0.1:9000"


def test_config_rejects_unknown_options_and_bad_account_numbers() -> None:
    with pytest.raises(ValidationError, match="label_format"):
        config(label_format="pdf")
    with pytest.raises(ValidationError, match="account_number"):
        config(account_number="12-34")
    assert "sandbox-secret" not in repr(config())
