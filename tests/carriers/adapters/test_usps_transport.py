"""USPS transport: URLs called, tokens cached and refreshed, HTTP failures as carrier errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from carriers.adapters.usps import UspsCarrier, UspsConfig, build
from carriers.base import (
    Capability,
    CapabilityMissing,
    Carrier,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import (
    Address,
    Dimensions,
    DimensionUnit,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    Parcel,
    RateRequest,
    TrackingStatus,
    WeightUnit,
)

FIXTURES = Path(__file__).parent / "fixtures" / "usps"
BASE = "https://apis-tem.usps.com"
NOW = datetime(2025, 5, 26, 15, 0, tzinfo=UTC)
OPTIONS: dict[str, Any] = {
    "client_id": "app-key", "client_secret": "app-secret", "environment": "test",
    "crid": "56982563", "mid": "904128936", "manifest_mid": "904128937",
    "eps_account_number": "1000405525"}
TOKEN_1 = "eyJraWQiOiJ0ZW0tMSJ9.usps-access-token-1.sig"
PAYMENT = "eyJhbGciOiJSUzI1NiJ9.usps-payment-token-1.sig"
WAREHOUSE = Address(name="John Smith", company="Acme Supply", street=["4120 Bingham Ave"],
                    city="St. Louis", state="MO", postal_code="63116", country="US")
CUSTOMER = Address(name="Joe Doe", street=["1100 Wyoming St"], city="St. Louis", state="MO",
                   postal_code="63118", country="US")
BOX = Parcel(weight=Decimal("2.5"), weight_unit=WeightUnit.LB,
             dimensions=Dimensions(length=Decimal("12"), width=Decimal("8"),
                                   height=Decimal("4"), unit=DimensionUnit.IN))
RATE_REQUEST = RateRequest(warehouse="stl", ship_from=WAREHOUSE, ship_to=CUSTOMER,
                           parcels=[BOX])


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def label_json(tracking_number: str = "9205590109769900012613") -> dict[str, Any]:
    body: dict[str, Any] = fixture("label.json")
    return body | {"trackingNumber": tracking_number}


def label_request(parcels: int = 1) -> LabelRequest:
    return LabelRequest(warehouse="stl", carrier="usps-main", service="PRIORITY_MAIL",
                        ship_from=WAREHOUSE, ship_to=CUSTOMER, parcels=[BOX] * parcels)


def bought(*tracking_numbers: str) -> Label:
    return Label(id="lbl-1", carrier="usps", carrier_account="usps-main",
                 service="PRIORITY_MAIL", tracking_number=tracking_numbers[0],
                 format=LabelFormat.PDF,
                 packages=[PackageLabel(tracking_number=tn, data="QQ==")
                           for tn in tracking_numbers],
                 charge=Decimal("9.63"), currency="USD", created_at=NOW)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def usps(clock: Clock) -> AsyncIterator[UspsCarrier]:
    carrier = UspsCarrier("usps-main", UspsConfig.model_validate(OPTIONS), clock=clock,
                          now=lambda: NOW)
    yield carrier
    await carrier.aclose()


def mock_token(router: respx.MockRouter) -> respx.Route:
    return router.post("/oauth2/v3/token").respond(json=fixture("token.json"))


def mock_payment(router: respx.MockRouter) -> respx.Route:
    return router.post("/payments/v3/payment-authorization").respond(
        json=fixture("payment_authorization.json"))


# --- configuration and capabilities ------------------------------------------------------

async def test_build_validates_options_and_returns_a_carrier() -> None:
    carrier = build("usps-main", OPTIONS)
    try:
        assert isinstance(carrier, Carrier)
        assert (carrier.id, carrier.carrier) == ("usps-main", "usps")
        assert carrier.capabilities == frozenset(Capability)
    finally:
        await carrier.aclose()


@pytest.mark.parametrize("bad", [
    {"crid": None},  # payment roles come as a set
    {"environment": "staging"},
    {"client_secret_env": "USPS_CLIENT_SECRET"},  # extra keys are refused
    {"timeout_seconds": 0},
    {"mail_classes": []},
])
def test_bad_options_are_refused_with_the_field_named(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        UspsConfig.model_validate(OPTIONS | bad)


async def test_account_without_payment_roles_rates_and_tracks_but_cannot_buy_or_void() -> None:
    options = {k: v for k, v in OPTIONS.items()
               if k not in ("crid", "mid", "manifest_mid", "eps_account_number")}
    carrier = build("usps-rates-only", options)
    try:
        assert carrier.capabilities == {Capability.RATE, Capability.TRACK}
        with respx.mock(assert_all_called=True) as router:
            with pytest.raises(CapabilityMissing) as caught:
                await carrier.purchase(label_request(), "lbl-1")
            with pytest.raises(CapabilityMissing):
                await carrier.void(bought("9205590109769900012613"))
        assert router.calls.call_count == 0
        assert "cannot buy labels" in caught.value.messages[0].message
    finally:
        await carrier.aclose()


# --- OAuth --------------------------------------------------------------------------------

async def test_token_is_fetched_once_as_json_and_reused(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        token = mock_token(router)
        search = router.post("/shipments/v3/options/search").respond(
            json=fixture("options_search.json"))

        await usps.rate(RATE_REQUEST)
        await usps.rate(RATE_REQUEST)

    assert token.call_count == 1
    assert json.loads(token.calls.last.request.content) == {
        "client_id": "app-key", "client_secret": "app-secret",
        "grant_type": "client_credentials"}
    assert search.call_count == 2
    assert {call.request.headers["Authorization"] for call in search.calls} == {
        f"Bearer {TOKEN_1}"}


async def test_a_401_refreshes_the_token_once_and_retries(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        token = router.post("/oauth2/v3/token").mock(side_effect=[
            httpx.Response(200, json=fixture("token.json")),
            httpx.Response(200, json=fixture("token.json") | {"access_token": "token-2"})])
        search = router.post("/shipments/v3/options/search").mock(side_effect=[
            httpx.Response(401, json={"error": {"code": "401", "message": "Unauthorized"}}),
            httpx.Response(200, json=fixture("options_search.json"))])

        rates = await usps.rate(RATE_REQUEST)

    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in search.calls] == [
        f"Bearer {TOKEN_1}", "Bearer token-2"]
    assert [r.service for r in rates] == [
        "USPS_GROUND_ADVANTAGE", "PRIORITY_MAIL", "PRIORITY_MAIL_EXPRESS"]


async def test_an_expired_token_is_fetched_again(usps: UspsCarrier, clock: Clock) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        token = mock_token(router)
        router.post("/shipments/v3/options/search").respond(json=fixture("options_search.json"))

        await usps.rate(RATE_REQUEST)
        clock.now += 28799
        await usps.rate(RATE_REQUEST)

    assert token.call_count == 2


async def test_refused_client_credentials_are_a_rejection(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/oauth2/v3/token").respond(401, json=fixture("token_error.json"))

        with pytest.raises(CarrierRejected) as caught:
            await usps.rate(RATE_REQUEST)

    assert [(m.code, m.message) for m in caught.value.messages] == [
        ("invalid_client", "Client authentication failed")]


# --- rates --------------------------------------------------------------------------------

async def test_rate_searches_options_once_per_parcel(usps: UspsCarrier) -> None:
    request = RATE_REQUEST.model_copy(update={"parcels": [BOX, BOX]})
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        search = router.post("/shipments/v3/options/search").respond(
            json=fixture("options_search.json"))

        rates = await usps.rate(request)

    assert search.call_count == 2
    sent = json.loads(search.calls.last.request.content)
    assert sent["packageDescription"] == {
        "weight": 2.5, "length": 12.0, "width": 8.0, "height": 4.0,
        "mailClass": "ALL_OUTBOUND", "mailingDate": "2025-05-26"}
    assert [(r.service, r.amount) for r in rates][0] == ("USPS_GROUND_ADVANTAGE",
                                                         Decimal("19.26"))


async def test_rate_refused_by_usps_is_a_rejection_with_its_messages(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        router.post("/shipments/v3/options/search").respond(400,
                                                            json=fixture("options_error.json"))

        with pytest.raises(CarrierRejected) as caught:
            await usps.rate(RATE_REQUEST)

    assert caught.value.status_code == 400
    assert [m.message for m in caught.value.messages] == [
        "The destination ZIP Code 00000 is not valid. (destinationZIPCode)"]


async def test_rate_limit_is_unavailable_with_retry_after(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        router.post("/shipments/v3/options/search").respond(
            429, json=fixture("rate_limited.json"), headers={"Retry-After": "120"})

        with pytest.raises(CarrierUnavailable) as caught:
            await usps.rate(RATE_REQUEST)

    assert (caught.value.status_code, caught.value.retry_after) == (429, 120)
    assert caught.value.messages[0].message == "Quota for this API product has been exceeded."


async def test_rate_timeout_is_a_carrier_timeout(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        router.post("/shipments/v3/options/search").mock(
            side_effect=httpx.ReadTimeout("slow"))

        with pytest.raises(CarrierTimeout):
            await usps.rate(RATE_REQUEST)


async def test_unreadable_success_body_is_unavailable(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        router.post("/shipments/v3/options/search").respond(200, text="<html>maintenance")

        with pytest.raises(CarrierUnavailable) as caught:
            await usps.rate(RATE_REQUEST)

    assert caught.value.messages[0].code == "unexpected_reply"


# --- labels -------------------------------------------------------------------------------

async def test_purchase_sends_payment_token_and_idempotency_key(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        payment = mock_payment(router)
        create = router.post("/labels/v3/label").respond(
            json=label_json(), headers={"Content-Type": "application/vnd.usps.labels+json"})

        label = await usps.purchase(label_request(), "lbl-1")

    assert payment.call_count == 1
    headers = create.calls.last.request.headers
    assert headers["X-Payment-Authorization-Token"] == PAYMENT
    assert headers["Authorization"] == f"Bearer {TOKEN_1}"
    assert headers["Accept"] == "application/vnd.usps.labels+json"
    assert len(headers["X-Idempotency-Key"]) == 36
    assert json.loads(create.calls.last.request.content)["packageDescription"]["mailClass"] == (
        "PRIORITY_MAIL")
    assert (label.id, label.carrier, label.carrier_account) == ("lbl-1", "usps", "usps-main")
    assert (label.tracking_number, label.charge, label.created_at) == (
        "9205590109769900012613", Decimal("9.63"), NOW)


async def test_payment_token_is_cached_across_labels(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        payment = mock_payment(router)
        router.post("/labels/v3/label").respond(json=label_json())

        await usps.purchase(label_request(), "lbl-1")
        await usps.purchase(label_request(), "lbl-2")

    assert payment.call_count == 1
    assert payment.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN_1}"


async def test_payment_token_refused_by_labels_is_fetched_again_next_time(
        usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        payment = mock_payment(router)
        router.post("/labels/v3/label").mock(side_effect=[
            httpx.Response(403, json={"error": {"code": "403", "message": "Access denied"}}),
            httpx.Response(200, json=label_json())])

        with pytest.raises(CarrierRejected):
            await usps.purchase(label_request(), "lbl-1")
        await usps.purchase(label_request(), "lbl-1")

    assert payment.call_count == 2


async def test_every_parcel_is_bought_as_its_own_label(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        create = router.post("/labels/v3/label").mock(side_effect=[
            httpx.Response(200, json=label_json("9205590109769900012613")),
            httpx.Response(200, json=label_json("9205590109769900012620"))])

        label = await usps.purchase(label_request(parcels=2), "lbl-1")

    keys = [call.request.headers["X-Idempotency-Key"] for call in create.calls]
    assert len(set(keys)) == 2
    assert [p.tracking_number for p in label.packages] == [
        "9205590109769900012613", "9205590109769900012620"]
    assert label.charge == Decimal("19.26")


async def test_a_refused_later_parcel_cancels_the_labels_already_bought(
        usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        router.post("/labels/v3/label").mock(side_effect=[
            httpx.Response(200, json=label_json("9205590109769900012613")),
            httpx.Response(400, json=fixture("label_error.json"))])
        cancel = router.delete("/labels/v3/label/9205590109769900012613").respond(
            json=fixture("cancel.json"))

        with pytest.raises(CarrierRejected) as caught:
            await usps.purchase(label_request(parcels=2), "lbl-1")

    assert cancel.call_count == 1
    assert [m.message for m in caught.value.messages] == [
        "Address Not Found. (toAddress)",
        "label 9205590109769900012613 bought for an earlier parcel: cancelled"]


async def test_a_timeout_on_a_later_parcel_keeps_the_earlier_labels_and_says_so(
        usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        create = router.post("/labels/v3/label").mock(side_effect=[
            httpx.Response(200, json=label_json("9205590109769900012613")),
            httpx.ReadTimeout("slow")])

        with pytest.raises(CarrierTimeout) as caught:
            await usps.purchase(label_request(parcels=2), "lbl-1")

    assert create.call_count == 2
    assert caught.value.messages[-1].message == (
        "label 9205590109769900012613 bought for an earlier parcel: kept; buying the same "
        "label id again returns it")


async def test_label_service_outage_is_unavailable(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        router.post("/labels/v3/label").respond(503, json=fixture("service_unavailable.json"))

        with pytest.raises(CarrierUnavailable) as caught:
            await usps.purchase(label_request(), "lbl-1")

    assert caught.value.status_code == 503


# --- void ---------------------------------------------------------------------------------

async def test_void_deletes_each_parcel_label_with_the_payment_token(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        first = router.delete("/labels/v3/label/9205590109769900012613").respond(
            json=fixture("cancel.json"))
        second = router.delete("/labels/v3/label/9205590109769900012620").respond(
            json=fixture("cancel.json"))

        result = await usps.void(bought("9205590109769900012613", "9205590109769900012620"))

    assert first.calls.last.request.headers["X-Payment-Authorization-Token"] == PAYMENT
    assert second.call_count == 1
    assert (result.voided, result.tracking_number, result.message) == (
        True, "9205590109769900012613", None)


async def test_void_refused_by_usps_is_a_result_with_its_words(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        router.delete("/labels/v3/label/9205590109769900012613").respond(
            400, json=fixture("cancel_error.json"))

        result = await usps.void(bought("9205590109769900012613"))

    assert result.voided is False
    assert result.message == "A refund request for this order cannot be submitted (trackingNumber)"


async def test_void_during_an_outage_raises_unavailable(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        router.delete("/labels/v3/label/9205590109769900012613").respond(
            503, json=fixture("service_unavailable.json"), headers={"Retry-After": "15"})

        with pytest.raises(CarrierUnavailable) as caught:
            await usps.void(bought("9205590109769900012613"))

    assert caught.value.retry_after == 15


# --- tracking -----------------------------------------------------------------------------

async def test_track_asks_for_detail(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        route = router.get("/tracking/v3/tracking/9205590109769900012613",
                           params={"expand": "DETAIL"}).respond(json=fixture("tracking.json"))

        result = await usps.track("9205590109769900012613")

    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN_1}"
    assert result.status == TrackingStatus.DELIVERED
    assert len(result.events) == 4


async def test_unknown_tracking_number_is_a_rejection(usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        router.get("/tracking/v3/tracking/9400100000000000000000").respond(
            404, json=fixture("tracking_error.json"))

        with pytest.raises(CarrierRejected) as caught:
            await usps.track("9400100000000000000000")

    assert caught.value.status_code == 404
    assert "could not be found" in caught.value.messages[0].message


async def test_the_records_carrier_key_is_sent_and_resent_as_x_idempotency_key(
        usps: UspsCarrier) -> None:
    record_key = "3f0c9d8e-2b7a-4c61-9e4f-5a1d2c3b4e5f"
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        create = router.post("/labels/v3/label").mock(side_effect=[
            httpx.Response(200, json=label_json("9205590109769900012613")),
            httpx.Response(200, json=label_json("9205590109769900012620")),
            httpx.Response(200, json=label_json("9205590109769900012613")),
            httpx.Response(200, json=label_json("9205590109769900012620"))])

        await usps.purchase(label_request(parcels=2), "lbl-1", carrier_key=record_key)
        # our retry of the same purchase (same record) sends the same keys
        await usps.purchase(label_request(parcels=2), "lbl-1", carrier_key=record_key)

    keys = [call.request.headers["X-Idempotency-Key"] for call in create.calls]
    assert keys[0] == record_key
    assert keys[1] != record_key
    assert keys[2:] == keys[:2]
    assert usps.repeatable_purchase is True
