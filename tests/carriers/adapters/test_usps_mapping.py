"""USPS pure mapping: requests mapped, success fixtures parsed, error fixtures parsed."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from carriers.adapters.usps import mapping, tracking
from carriers.adapters.usps.config import UspsConfig
from carriers.base import CarrierRejected
from carriers.models import (
    Address,
    Dimensions,
    LabelFormat,
    LabelRequest,
    Parcel,
    ServiceLevel,
    TrackingStatus,
    WeightUnit,
)

FIXTURES = Path(__file__).parent / "fixtures" / "usps"
MAILING_DATE = date(2025, 5, 26)
CONFIG = UspsConfig.model_validate({
    "client_id": "app-key", "client_secret": "app-secret", "environment": "test",
    "crid": "56982563", "mid": "904128936", "manifest_mid": "904128937",
    "eps_account_number": "1000405525"})
WAREHOUSE = Address(name="John Smith", company="Acme Supply", street=["4120 Bingham Ave"],
                    city="St. Louis", state="MO", postal_code="63116", country="US",
                    phone="(314) 555-0100")
CUSTOMER = Address(name="Joe Doe", street=["1100 Wyoming St", "Suite 150"], city="St. Louis",
                   state="MO", postal_code="63118-2628", country="US",
                   email="joe@example.com")
BOX = Parcel(weight=Decimal("1.2"), weight_unit=WeightUnit.KG,
             dimensions=Dimensions(length=Decimal("20"), width=Decimal("30"),
                                   height=Decimal("10")))


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def label_request(**changes: Any) -> LabelRequest:
    fields: dict[str, Any] = {
        "warehouse": "stl", "carrier": "usps-main", "service": "USPS_GROUND_ADVANTAGE",
        "ship_from": WAREHOUSE, "ship_to": CUSTOMER, "parcels": [BOX], "reference": "SO-1042"}
    return LabelRequest(**(fields | changes))


def test_options_request_sends_pounds_inches_longest_first_and_zip5() -> None:
    body = mapping.options_request(WAREHOUSE, CUSTOMER, BOX, CONFIG, MAILING_DATE)

    assert body == {
        "pricingOptions": [{"priceType": "COMMERCIAL",
                            "paymentAccount": {"accountType": "EPS",
                                               "accountNumber": "1000405525"}}],
        "originZIPCode": "63116",
        "destinationZIPCode": "63118",
        "destinationEntryFacilityType": "NONE",
        "packageDescription": {
            "weight": 2.65, "length": 11.82, "width": 7.88, "height": 3.94,
            "mailClass": "ALL_OUTBOUND", "mailingDate": "2025-05-26"},
    }


def test_options_request_without_eps_account_has_no_payment_account() -> None:
    config = UspsConfig.model_validate(
        {"client_id": "k", "client_secret": "s", "environment": "test", "price_type": "RETAIL"})

    body = mapping.options_request(WAREHOUSE, CUSTOMER, BOX, config, MAILING_DATE)

    assert body["pricingOptions"] == [{"priceType": "RETAIL"}]


def test_foreign_destination_is_refused_with_a_clear_message() -> None:
    toronto = CUSTOMER.model_copy(update={"country": "CA", "postal_code": "M5V 2T6",
                                          "state": "ON"})

    with pytest.raises(CarrierRejected) as caught:
        mapping.options_request(WAREHOUSE, toronto, BOX, CONFIG, MAILING_DATE)

    assert caught.value.messages[0].code == "unsupported_destination"
    assert "CA is not domestic" in caught.value.messages[0].message


def test_territory_is_domestic_and_its_code_stands_in_for_the_state() -> None:
    san_juan = CUSTOMER.model_copy(update={"country": "PR", "postal_code": "00901",
                                           "state": None})

    (body,) = mapping.label_requests(label_request(ship_to=san_juan), CONFIG, MAILING_DATE)

    assert body["toAddress"]["state"] == "PR"


def test_parcel_without_dimensions_is_refused() -> None:
    loose = Parcel(weight=Decimal("2"), weight_unit=WeightUnit.LB)

    with pytest.raises(CarrierRejected) as caught:
        mapping.options_request(WAREHOUSE, CUSTOMER, loose, CONFIG, MAILING_DATE)

    assert caught.value.messages[0].code == "dimensions_required"


def test_rates_take_the_cheapest_own_box_option_of_each_configured_mail_class() -> None:
    rates = mapping.parse_rates([load("options_search.json")], "usps-main",
                                CONFIG.mail_classes)

    assert [(r.service, r.service_level, r.amount, r.estimated_transit_days) for r in rates] == [
        # the cubic (CP) 8.10 and flat rate envelope (FE) 9.85 options need USPS packaging
        ("USPS_GROUND_ADVANTAGE", ServiceLevel.GROUND, Decimal("9.63"), 3),
        ("PRIORITY_MAIL", ServiceLevel.EXPEDITED, Decimal("12.45"), 2),
        ("PRIORITY_MAIL_EXPRESS", ServiceLevel.OVERNIGHT, Decimal("45.10"), 1),
    ]
    assert {(r.carrier, r.carrier_account, r.currency) for r in rates} == {
        ("usps", "usps-main", "USD")}


def test_destination_entry_and_unconfigured_mail_classes_are_not_offered() -> None:
    rates = mapping.parse_rates([load("options_search.json")], "usps-main",
                                ("PARCEL_SELECT", "MEDIA_MAIL"))

    # Parcel Select here is a DDU drop-off price; Media Mail was asked for explicitly
    assert [(r.service, r.amount, r.service_level) for r in rates] == [
        ("MEDIA_MAIL", Decimal("4.63"), ServiceLevel.ECONOMY)]


def test_several_parcels_are_summed_and_each_must_be_priced() -> None:
    first = load("options_search.json")
    second = load("options_search.json")
    second["pricingOptions"][0]["shippingOptions"] = [
        option for option in second["pricingOptions"][0]["shippingOptions"]
        if option["mailClass"] != "PRIORITY_MAIL_EXPRESS"]

    rates = mapping.parse_rates([first, second], "usps-main", CONFIG.mail_classes)

    assert [(r.service, r.amount) for r in rates] == [
        ("USPS_GROUND_ADVANTAGE", Decimal("19.26")), ("PRIORITY_MAIL", Decimal("24.90"))]


def test_payment_authorization_names_payer_and_label_owner() -> None:
    assert mapping.payment_authorization_request(CONFIG) == {"roles": [
        {"roleName": "PAYER", "CRID": "56982563", "MID": "904128936",
         "manifestMID": "904128937", "accountType": "EPS", "accountNumber": "1000405525"},
        {"roleName": "LABEL_OWNER", "CRID": "56982563", "MID": "904128936",
         "manifestMID": "904128937"},
    ]}
    assert mapping.parse_payment_token(load("payment_authorization.json")) == (
        "eyJhbGciOiJSUzI1NiJ9.usps-payment-token-1.sig")


def test_token_request_is_a_json_client_credentials_grant() -> None:
    assert mapping.token_request(CONFIG) == {
        "client_id": "app-key", "client_secret": "app-secret",
        "grant_type": "client_credentials"}
    assert mapping.parse_token(load("token.json")) == (
        "eyJraWQiOiJ0ZW0tMSJ9.usps-access-token-1.sig", 28799.0)


def test_label_request_maps_addresses_package_and_image() -> None:
    (body,) = mapping.label_requests(label_request(), CONFIG, MAILING_DATE)

    assert body == {
        "imageInfo": {"imageType": "PDF", "labelType": "4X6LABEL", "receiptOption": "NONE"},
        "toAddress": {"streetAddress": "1100 Wyoming St", "secondaryAddress": "Suite 150",
                      "city": "St. Louis", "state": "MO", "ZIPCode": "63118",
                      "ZIPPlus4": "2628", "firstName": "Joe", "lastName": "Doe",
                      "email": "joe@example.com"},
        "fromAddress": {"streetAddress": "4120 Bingham Ave", "city": "St. Louis",
                        "state": "MO", "ZIPCode": "63116", "firstName": "John",
                        "lastName": "Smith", "firm": "Acme Supply", "phone": "3145550100"},
        "packageDescription": {
            "mailClass": "USPS_GROUND_ADVANTAGE", "packagingType": "VARIABLE",
            "shape": "RECTANGULAR", "processingCategory": "MACHINABLE",
            "destinationEntryFacilityType": "NONE", "weightUOM": "lb", "weight": 2.65,
            "dimensionsUOM": "in", "length": 11.82, "width": 7.88, "height": 3.94,
            "mailingDate": "2025-05-26",
            "customerReference": [{"referenceNumber": "SO-1042",
                                   "printReferenceNumber": True}]},
    }


def test_every_parcel_gets_its_own_label_numbered_one_of_n() -> None:
    bodies = mapping.label_requests(label_request(parcels=[BOX, BOX, BOX]), CONFIG,
                                    MAILING_DATE)

    assert [(b["imageInfo"]["packageNumber"], b["imageInfo"]["totalPackages"])
            for b in bodies] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(("fmt", "dpi", "expected"), [
    (LabelFormat.PDF, 203, "PDF"), (LabelFormat.PNG, 203, "PNG"),
    (LabelFormat.ZPL, 203, "ZPL203DPI"), (LabelFormat.ZPL, 300, "ZPL300DPI")])
def test_label_formats_map_to_usps_image_types(fmt: LabelFormat, dpi: int,
                                                expected: str) -> None:
    config = CONFIG.model_copy(update={"zpl_dpi": dpi})

    assert mapping.image_type(fmt, config) == expected


def test_unknown_mail_class_is_refused_before_any_call() -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.label_requests(label_request(service="FEDEX_GROUND"), CONFIG, MAILING_DATE)

    assert caught.value.messages[0].code == "unsupported_service"


def test_vendor_json_label_response_is_parsed() -> None:
    content = (FIXTURES / "label.json").read_bytes()

    part = mapping.parse_label_part("application/vnd.usps.labels+json", content)

    assert part.tracking_number == "9205590109769900012613"
    assert base64.b64decode(part.data).startswith(b"%PDF-1.4")
    assert part.charge == Decimal("9.63")


def test_multipart_label_response_is_parsed() -> None:
    meta = load("label.json")
    image = meta.pop("labelImage")
    boundary = "XkxytuhvSSXDz-aV1q2YverB"
    content = (
        f"--{boundary}\r\nContent-Type: application/json\r\n"
        f'Content-Disposition: form-data; name="labelMetadata"\r\n\r\n'
        f"{json.dumps(meta, default=str)}\r\n"
        f"--{boundary}\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: form-data; filename="labelImage.pdf"; name="labelImage"\r\n\r\n'
        f"{image[:40]}\r\n{image[40:]}\r\n--{boundary}--\r\n").encode()

    part = mapping.parse_label_part(f"multipart/form-data; boundary={boundary}", content)

    assert (part.tracking_number, part.data) == ("9205590109769900012613", image)


def test_label_of_several_parcels_sums_charges_and_keeps_parcel_order() -> None:
    parts = [mapping.LabelPart("9205590109769900012613", "QQ==", Decimal("9.63")),
             mapping.LabelPart("9205590109769900012620", "Qg==", Decimal("10.10"))]
    created = datetime(2025, 5, 26, 15, 0, tzinfo=UTC)

    label = mapping.build_label(parts, label_request(parcels=[BOX, BOX]), label_id="lbl-1",
                                account="usps-main", created_at=created)

    assert label.tracking_number == "9205590109769900012613"
    assert [p.tracking_number for p in label.packages] == [
        "9205590109769900012613", "9205590109769900012620"]
    assert (label.charge, label.currency, label.created_at) == (Decimal("19.73"), "USD",
                                                                 created)


def test_idempotency_keys_come_from_the_records_random_uuid_and_differ_per_parcel() -> None:
    record_key = str(uuid.uuid4())

    first = mapping.idempotency_key(record_key, 0)
    second = mapping.idempotency_key(record_key, 1)

    assert first == record_key and uuid.UUID(first).version == 4
    assert second == mapping.idempotency_key(record_key, 1) != first
    assert mapping.idempotency_key(str(uuid.uuid4()), 1) != second


def test_without_a_record_key_the_parcel_keys_are_derived_from_the_label_id() -> None:
    key = mapping.idempotency_key(None, 0, account="usps-main", label_id="lbl-1")

    assert key == mapping.idempotency_key(None, 0, account="usps-main", label_id="lbl-1")
    assert key != mapping.idempotency_key(None, 1, account="usps-main", label_id="lbl-1")
    assert uuid.UUID(key).version == 5


@pytest.mark.parametrize(("fixture", "voided", "message"), [
    ("cancel.json", True, None),
    ("cancel_disputed.json", True,
     "USPS refund requested (dispute 103789); the label must not be used"),
])
def test_cancel_answers_are_parsed(fixture: str, voided: bool, message: str | None) -> None:
    assert mapping.parse_cancel(load(fixture)) == (voided, message)


def test_void_of_several_parcels_is_voided_only_when_every_label_is() -> None:
    label = mapping.build_label(
        [mapping.LabelPart("9205590109769900012613", "QQ==", Decimal("9.63")),
         mapping.LabelPart("9205590109769900012620", "Qg==", Decimal("9.63"))],
        label_request(parcels=[BOX, BOX]), label_id="lbl-1", account="usps-main",
        created_at=datetime(2025, 5, 26, 15, 0, tzinfo=UTC))

    result = mapping.void_result(label, [
        ("9205590109769900012613", True, None),
        ("9205590109769900012620", False, "Order not found")])

    assert mapping.void_targets(label) == ["9205590109769900012613", "9205590109769900012620"]
    assert (result.voided, result.tracking_number, result.message) == (
        False, "9205590109769900012613", "9205590109769900012620: Order not found")


def test_tracking_detail_is_parsed_newest_first_with_normalized_statuses() -> None:
    result = tracking.parse_tracking(load("tracking.json"), "9205590109769900012613")

    assert result.status == TrackingStatus.DELIVERED
    assert result.estimated_delivery == date(2025, 5, 29)
    assert [(e.status, e.carrier_code) for e in result.events] == [
        (TrackingStatus.DELIVERED, "01"), (TrackingStatus.OUT_FOR_DELIVERY, "OF"),
        (TrackingStatus.IN_TRANSIT, "03"), (TrackingStatus.PRE_TRANSIT, "GX")]
    newest = result.events[0]
    # GMTTimestamp is the instant; eventTimestamp is local time with a misleading Z
    assert newest.occurred_at == datetime(2025, 5, 28, 18, 5, tzinfo=UTC)
    assert newest.location == "SAINT LOUIS, MO 63118"


def test_unrecognised_status_category_falls_back_to_the_latest_event() -> None:
    body = load("tracking.json") | {"statusCategory": "Something New", "status": "?"}

    assert tracking.parse_tracking(body, "x").status == TrackingStatus.DELIVERED


@pytest.mark.parametrize(("fixture", "status", "expected"), [
    ("options_error.json", 400,
     [("00000XX", "The destination ZIP Code 00000 is not valid. (destinationZIPCode)")]),
    ("cancel_error.json", 400,
     [("00000XX", "A refund request for this order cannot be submitted (trackingNumber)")]),
    ("rate_limited.json", 429, [("429", "Quota for this API product has been exceeded.")]),
    ("token_error.json", 401, [("invalid_client", "Client authentication failed")]),
])
def test_error_bodies_become_carrier_messages(fixture: str, status: int,
                                              expected: list[tuple[str, str]]) -> None:
    messages = mapping.error_messages(status, load(fixture))

    assert [(m.code, m.message) for m in messages] == expected
    assert {m.carrier for m in messages} == {"usps"}


def test_error_without_details_uses_the_top_level_message() -> None:
    body = {"apiVersion": "/labels/v3", "error": {"code": "403", "message": "Access denied"}}

    assert [(m.code, m.message) for m in mapping.error_messages(403, body)] == [
        ("403", "Access denied")]
    assert mapping.error_messages(502, "<html>bad gateway</html>") == []
