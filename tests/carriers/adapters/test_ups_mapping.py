"""UPS pure mapping: requests built and replies read, on fixtures shaped like UPS's examples."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from carriers.adapters.ups import mapping
from carriers.adapters.ups.config import UPSConfig
from carriers.adapters.ups.services import code_for_service, service_for_code, tracking_status
from carriers.base import CarrierRejected
from carriers.models import (
    Address,
    CarrierMessage,
    Customs,
    CustomsItem,
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

FIXTURES = Path(__file__).parent / "fixtures" / "ups"
ACCOUNT = "ups-east"
CREATED = datetime(2024, 5, 6, 14, 15, tzinfo=UTC)

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
CUSTOMS = Customs(items=[CustomsItem(description="Cotton T-shirts", quantity=2,
                                     unit_value=Decimal("12.50"), currency="USD",
                                     net_weight=Decimal("0.2"), origin_country="US")])
RATE_REQUEST = RateRequest(warehouse="east-1", ship_from=WAREHOUSE, ship_to=CUSTOMER,
                           parcels=PARCELS)
LABEL_REQUEST = LabelRequest(warehouse="east-1", carrier="ups-east", service="ups_ground",
                             ship_from=WAREHOUSE, ship_to=CUSTOMER, parcels=PARCELS,
                             format=LabelFormat.ZPL, reference="SO-1042")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def config(**overrides: Any) -> UPSConfig:
    options: dict[str, Any] = {"client_id": "cie-client-id", "client_secret": "cie-secret",
                               "shipper_number": "A1B2C3", "environment": "test"}
    return UPSConfig.model_validate({**options, **overrides})


def label(**overrides: Any) -> Label:
    values: dict[str, Any] = {
        "id": "lbl_01", "carrier": "ups", "carrier_account": ACCOUNT, "service": "ups_ground",
        "tracking_number": "1ZA1B2C30394827153", "format": LabelFormat.ZPL,
        "packages": [], "charge": Decimal("18.42"), "currency": "USD",
        "carrier_shipment_id": "1ZA1B2C30394827153", "created_at": CREATED,
    }
    return Label.model_validate({**values, **overrides})


# ---- rate ---------------------------------------------------------------------------


def test_rate_request_maps_the_shipment_to_a_shop_payload() -> None:
    assert mapping.rate_request(RATE_REQUEST, config()) == fixture("rate_request.json")


def test_rate_request_uses_kilograms_and_centimetres_outside_the_us() -> None:
    berlin = WAREHOUSE.model_copy(update={"city": "Berlin", "state": None,
                                          "postal_code": "10785", "country": "DE"})
    request = RATE_REQUEST.model_copy(update={"ship_from": berlin})

    packages = mapping.rate_request(request, config())["RateRequest"]["Shipment"]["Package"]

    assert packages[0]["PackageWeight"] == {"UnitOfMeasurement": {"Code": "KGS",
                                                                  "Description": "Kilograms"},
                                            "Weight": "2.5"}
    assert packages[0]["Dimensions"]["UnitOfMeasurement"] == {"Code": "CM",
                                                              "Description": "Centimeters"}
    assert packages[0]["Dimensions"]["Length"] == "30"
    # 4 lb = 1.814 kg, rounded up so the declared weight never undercuts the scale
    assert packages[1]["PackageWeight"]["Weight"] == "1.9"


def test_rate_request_asks_for_negotiated_rates_only_when_configured() -> None:
    shipment = mapping.rate_request(RATE_REQUEST, config(negotiated_rates=False))
    assert "ShipmentRatingOptions" not in shipment["RateRequest"]["Shipment"]


def test_rates_are_parsed_per_service_with_negotiated_charge_and_transit_days() -> None:
    rates = mapping.parse_rates(fixture("rate_response.json"), ACCOUNT)

    summary = [(r.service, r.service_level, r.amount, r.currency, r.estimated_transit_days)
               for r in rates]
    assert summary == [
        ("ups_ground", ServiceLevel.GROUND, Decimal("15.10"), "USD", 3),
        ("ups_2nd_day_air", ServiceLevel.EXPEDITED, Decimal("41.85"), "USD", 2),
        ("ups_next_day_air", ServiceLevel.OVERNIGHT, Decimal("74.80"), "USD", 1),
    ]
    assert {(r.carrier, r.carrier_account) for r in rates} == {("ups", ACCOUNT)}


def test_a_single_rated_shipment_object_from_older_versions_is_read() -> None:
    body = fixture("rate_response.json")
    body["RateResponse"]["RatedShipment"] = body["RateResponse"]["RatedShipment"][1]

    rates = mapping.parse_rates(body, ACCOUNT)

    assert [r.service for r in rates] == ["ups_2nd_day_air"]


def test_rate_reply_without_rated_shipments_is_unexpected() -> None:
    with pytest.raises(mapping.UnexpectedReply):
        mapping.parse_rates({"RateResponse": {"Response": {}}}, ACCOUNT)


@pytest.mark.parametrize(("code", "slug", "level"), [
    ("01", "ups_next_day_air", ServiceLevel.OVERNIGHT),
    ("02", "ups_2nd_day_air", ServiceLevel.EXPEDITED),
    ("03", "ups_ground", ServiceLevel.GROUND),
    ("11", "ups_standard", ServiceLevel.GROUND),
    ("12", "ups_3_day_select", ServiceLevel.EXPEDITED),
    ("13", "ups_next_day_air_saver", ServiceLevel.OVERNIGHT),
    ("14", "ups_next_day_air_early", ServiceLevel.OVERNIGHT),
    ("59", "ups_2nd_day_air_am", ServiceLevel.EXPEDITED),
    ("65", "ups_saver", ServiceLevel.EXPEDITED),
    ("07", "ups_worldwide_express", ServiceLevel.EXPEDITED),
    ("93", "ups_ground_saver", ServiceLevel.ECONOMY),
    ("M4", "ups_m4", ServiceLevel.EXPEDITED),
])
def test_service_codes_map_to_our_ids_and_levels(code: str, slug: str,
                                                 level: ServiceLevel) -> None:
    service = service_for_code(code)
    assert (service.slug, service.level) == (slug, level)
    assert code_for_service(slug) == code


def test_raw_codes_are_accepted_as_services_and_foreign_ids_are_not() -> None:
    assert code_for_service("03") == "03"
    assert code_for_service("fedex_ground") is None


# ---- ship ---------------------------------------------------------------------------


def test_ship_request_maps_the_label_request_to_a_zpl_shipment() -> None:
    assert mapping.ship_request(LABEL_REQUEST, config(), "lbl_01") == fixture("ship_request.json")


def test_ship_request_puts_the_reference_on_the_shipment_for_international_parcels() -> None:
    toronto = CUSTOMER.model_copy(update={"city": "Toronto", "state": "ON",
                                          "postal_code": "M5V 2T6", "country": "CA"})
    payload = mapping.ship_request(LABEL_REQUEST.model_copy(update={
        "ship_to": toronto, "customs": CUSTOMS}), config(), "lbl_01")

    shipment = payload["ShipmentRequest"]["Shipment"]
    assert shipment["ReferenceNumber"] == [{"Value": "SO-1042"}]
    assert all("ReferenceNumber" not in package for package in shipment["Package"])


def test_ship_request_takes_raw_codes_and_the_configured_label_stock() -> None:
    request = LABEL_REQUEST.model_copy(update={"service": "13"})
    payload = mapping.ship_request(request, config(label_stock="4x8"), "lbl_01")["ShipmentRequest"]

    assert payload["Shipment"]["Service"] == {"Code": "13"}
    assert payload["LabelSpecification"]["LabelStockSize"] == {"Height": "8", "Width": "4"}


def test_an_unknown_service_is_rejected() -> None:
    request = LABEL_REQUEST.model_copy(update={"service": "fedex_ground"})
    with pytest.raises(CarrierRejected, match="unknown_service"):
        mapping.ship_request(request, config(), "lbl_01")


def test_shipment_results_become_a_label_with_one_document_per_parcel() -> None:
    result = mapping.parse_label(fixture("ship_response.json"), LABEL_REQUEST,
                                 label_id="lbl_01", account=ACCOUNT, created_at=CREATED)

    assert result.model_dump(exclude={"packages"}) == {
        "id": "lbl_01", "carrier": "ups", "carrier_account": ACCOUNT, "service": "ups_ground",
        "tracking_number": "1ZA1B2C30394827153", "format": LabelFormat.ZPL,
        "charge": Decimal("18.42"), "currency": "USD",
        "carrier_shipment_id": "1ZA1B2C30394827153", "created_at": CREATED, "voided": False,
        "documents": [],
    }
    assert [p.tracking_number for p in result.packages] == ["1ZA1B2C30394827153",
                                                             "1ZA1B2C30394827162"]
    assert result.packages[1].data == fixture("ship_response.json")["ShipmentResponse"][
        "ShipmentResults"]["PackageResults"][1]["ShippingLabel"]["GraphicImage"]


def test_a_single_package_result_object_is_read_and_negotiated_charges_win() -> None:
    body = fixture("ship_response.json")
    results = body["ShipmentResponse"]["ShipmentResults"]
    results["PackageResults"] = results["PackageResults"][0]
    results["NegotiatedRateCharges"] = {"TotalCharge": {"CurrencyCode": "USD",
                                                        "MonetaryValue": "15.10"}}

    result = mapping.parse_label(body, LABEL_REQUEST, label_id="lbl_01", account=ACCOUNT,
                                 created_at=CREATED)

    assert [p.tracking_number for p in result.packages] == ["1ZA1B2C30394827153"]
    assert result.charge == Decimal("15.10")


def test_shipment_results_without_labels_are_unexpected() -> None:
    body = fixture("ship_response.json")
    del body["ShipmentResponse"]["ShipmentResults"]["PackageResults"]
    with pytest.raises(mapping.UnexpectedReply):
        mapping.parse_label(body, LABEL_REQUEST, label_id="lbl_01", account=ACCOUNT,
                            created_at=CREATED)


# ---- void ---------------------------------------------------------------------------


def test_void_targets_the_shipment_identification_number() -> None:
    assert mapping.void_target(label(carrier_shipment_id="1ZSHIPMENT0000001")) == (
        "1ZSHIPMENT0000001")
    assert mapping.void_target(label(carrier_shipment_id=None)) == "1ZA1B2C30394827153"


def test_a_voided_summary_is_a_successful_void() -> None:
    result = mapping.parse_void(fixture("void_response.json"), label())
    assert (result.voided, result.message, result.tracking_number) == (
        True, None, "1ZA1B2C30394827153")


def test_void_status_padding_from_the_test_environment_is_ignored() -> None:
    body = fixture("void_response.json")
    body["VoidShipmentResponse"]["SummaryResult"]["Status"] = {
        "Code": "&#xD;&#xD;&#xD;1", "Description": "&#xD;Voided"}
    assert mapping.parse_void(body, label()).voided is True


def test_a_void_refusal_keeps_the_carrier_words() -> None:
    messages = mapping.parse_errors("ups", httpx.Response(400, json=fixture("void_refused.json")))
    result = mapping.void_refusal(messages, label())
    assert result.voided is False
    assert result.message == "190102: No shipment found within the allowed void period"


# ---- track --------------------------------------------------------------------------


def test_tracking_details_become_normalized_events_newest_first() -> None:
    tracking = mapping.parse_tracking(fixture("track_response.json"), "1ZA1B2C30394827153")

    assert tracking.status is TrackingStatus.OUT_FOR_DELIVERY
    assert tracking.estimated_delivery == date(2024, 5, 9)
    assert [(e.status, e.carrier_code) for e in tracking.events] == [
        (TrackingStatus.OUT_FOR_DELIVERY, "OT"),
        (TrackingStatus.IN_TRANSIT, "AR"),
        (TrackingStatus.IN_TRANSIT, "OR"),
        (TrackingStatus.PRE_TRANSIT, "MP"),
    ]
    first = tracking.events[0]
    assert first.occurred_at == datetime(2024, 5, 9, 7, 13, 56,
                                         tzinfo=timezone(timedelta(hours=-4)))
    assert first.location == "Alpharetta, GA, US"
    assert first.description == "Out For Delivery Today"
    assert tracking.events[-1].location == "US"


@pytest.mark.parametrize(("activity_type", "status_code", "expected"), [
    ("M", "003", TrackingStatus.PRE_TRANSIT),
    ("MV", None, TrackingStatus.PRE_TRANSIT),
    ("I", "005", TrackingStatus.IN_TRANSIT),
    ("I", "021", TrackingStatus.OUT_FOR_DELIVERY),
    ("D", "011", TrackingStatus.DELIVERED),
    ("X", "013", TrackingStatus.EXCEPTION),
    ("X", "034", TrackingStatus.RETURNED),
    ("RS", None, TrackingStatus.RETURNED),
    ("NA", None, TrackingStatus.UNKNOWN),
    (None, None, TrackingStatus.UNKNOWN),
])
def test_activity_types_and_status_codes_normalize(activity_type: str | None,
                                                   status_code: str | None,
                                                   expected: TrackingStatus) -> None:
    assert tracking_status(activity_type, status_code) is expected


def test_a_tracking_reply_with_only_warnings_is_rejected() -> None:
    body = {"trackResponse": {"shipment": [{"inquiryNumber": "1Z0000000000000000", "warnings": [
        {"code": "TW0001", "message": "Tracking Information Not Found"}]}]}}

    with pytest.raises(CarrierRejected) as caught:
        mapping.parse_tracking(body, "1Z0000000000000000")

    assert caught.value.messages == [CarrierMessage(
        carrier="ups", code="TW0001", message="Tracking Information Not Found")]


# ---- errors and config --------------------------------------------------------------


def test_error_bodies_become_carrier_messages() -> None:
    response = httpx.Response(400, json=fixture("rate_error.json"))
    assert mapping.parse_errors("ups", response) == [CarrierMessage(
        carrier="ups", code="111210",
        message="The requested service is unavailable between the selected locations.")]


def test_error_bodies_that_are_not_json_give_no_messages() -> None:
    assert mapping.parse_errors("ups", httpx.Response(502, text="<html>Bad gateway</html>")) == []


def test_token_reply_carries_the_lifetime_as_a_string() -> None:
    assert mapping.parse_token(fixture("token.json")) == (
        "eyJraWQiOiJ1cHMtYWNjZXNzLTEi.cie-token-1", 14399.0)


def test_config_picks_the_host_per_environment_and_honours_an_override() -> None:
    assert config().url == "https://wwwcie.ups.com"
    assert config(environment="production").url == "https://onlinetools.ups.com"
    assert config(base_url="http://127.0.0.1:9000/").url == "http://127.0.0.1:9000"


def test_config_forbids_unknown_options_and_requires_an_environment() -> None:
    with pytest.raises(ValidationError, match="shipper_numbr"):
        config(shipper_numbr="A1B2C3")
    with pytest.raises(ValidationError, match="environment"):
        UPSConfig(client_id=SecretStr("x"), client_secret=SecretStr("y"),
                  shipper_number="A1B2C3")  # type: ignore[call-arg]


def test_config_keeps_secrets_out_of_its_repr() -> None:
    assert "cie-secret" not in repr(config())
