"""UPS transport: the URLs called, the OAuth token's life, and HTTP failures as carrier errors."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from carriers.adapters import ups as package
from carriers.adapters.ups import UPSCarrier, build
from carriers.base import (
    Capability,
    Carrier,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import TrackingStatus
from tests.carriers.adapters.test_ups_mapping import (
    LABEL_REQUEST,
    RATE_REQUEST,
    config,
    fixture,
    label,
)

HOST = "https://wwwcie.ups.com"
TOKEN_PATH = "/security/v1/oauth/token"
RATE_PATH = "/api/rating/v2409/Shop"
SHIP_PATH = "/api/shipments/v2409/ship"
VOID_PATH = "/api/shipments/v2409/void/cancel/1ZA1B2C30394827153"
TRACK_PATH = "/api/track/v1/details/1ZA1B2C30394827153"
NOW = datetime(2024, 5, 6, 14, 15, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def ups(clock: FakeClock) -> AsyncIterator[UPSCarrier]:
    carrier = UPSCarrier("ups-east", config(), clock=clock, now=lambda: NOW)
    yield carrier
    await carrier.aclose()


def token_reply(token: str = "token-1", expires_in: str = "14399") -> httpx.Response:
    return httpx.Response(200, json={**fixture("token.json"), "access_token": token,
                                     "expires_in": expires_in})


def mock_ups() -> respx.MockRouter:
    return respx.mock(base_url=HOST, assert_all_called=True)


async def test_build_validates_options_into_a_carrier() -> None:
    carrier = build("ups-east", {"client_id": "id", "client_secret": "secret",
                                 "shipper_number": "A1B2C3", "environment": "production"})
    try:
        assert isinstance(carrier, Carrier)
        assert (carrier.id, carrier.carrier) == ("ups-east", "ups")
        assert carrier.capabilities == frozenset(Capability)
    finally:
        await carrier.aclose()


def test_the_package_exposes_build_the_carrier_and_its_config() -> None:
    assert sorted(package.__all__) == ["UPSCarrier", "UPSConfig", "build"]


# ---- rate ---------------------------------------------------------------------------


async def test_rate_posts_the_mapped_request_to_shop_with_time_in_transit(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.post(RATE_PATH, params={"additionalinfo": "timeintransit"}).respond(
            200, json=fixture("rate_response.json"))
        rates = await ups.rate(RATE_REQUEST)

    assert (token.call_count, route.call_count) == (1, 1)
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer token-1"
    assert sent.headers["transactionSrc"] == "erp-gateway"
    assert len(sent.headers["transId"]) == 32
    assert json.loads(sent.content) == fixture("rate_request.json")
    assert [r.service for r in rates] == ["ups_ground", "ups_2nd_day_air", "ups_next_day_air"]


async def test_the_token_request_uses_basic_auth_and_the_client_credentials_grant(
        ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, json=fixture("rate_response.json"))
        await ups.rate(RATE_REQUEST)

    sent = token.calls.last.request
    expected = base64.b64encode(b"cie-client-id:cie-secret").decode()
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["x-merchant-id"] == "A1B2C3"
    assert parse_qs(sent.content.decode()) == {"grant_type": ["client_credentials"]}


async def test_a_rate_refusal_is_rejected_with_the_ups_messages(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(400, json=fixture("rate_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.rate(RATE_REQUEST)

    assert caught.value.status_code == 400
    assert [(m.carrier, m.code) for m in caught.value.messages] == [("ups", "111210")]


@pytest.mark.parametrize("status", [429, 403])
async def test_the_ups_rate_limit_is_unavailability_whatever_the_status(
        ups: UPSCarrier, status: int) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(status, json=fixture("rate_limited.json"),
                                     headers={"Retry-After": "12"})
        with pytest.raises(CarrierUnavailable) as caught:
            await ups.rate(RATE_REQUEST)

    assert [m.code for m in caught.value.messages] == ["10429"]
    assert caught.value.status_code == status


async def test_a_server_error_is_unavailability(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(503, json=fixture("server_error.json"))
        with pytest.raises(CarrierUnavailable) as caught:
            await ups.rate(RATE_REQUEST)

    assert type(caught.value) is CarrierUnavailable
    assert [m.code for m in caught.value.messages] == ["10500"]


async def test_a_slow_answer_is_a_carrier_timeout(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).mock(side_effect=httpx.ReadTimeout)
        with pytest.raises(CarrierTimeout):
            await ups.rate(RATE_REQUEST)


async def test_a_success_status_with_a_body_that_is_not_json_is_unavailability(
        ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, text="<html>maintenance</html>")
        with pytest.raises(CarrierUnavailable, match="invalid_reply"):
            await ups.rate(RATE_REQUEST)


# ---- purchase -----------------------------------------------------------------------


async def test_purchase_posts_the_shipment_and_returns_the_label(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.post(SHIP_PATH).respond(200, json=fixture("ship_response.json"))
        result = await ups.purchase(LABEL_REQUEST, "lbl_01")

    assert route.call_count == 1
    assert json.loads(route.calls.last.request.content) == fixture("ship_request.json")
    assert (result.tracking_number, result.carrier_shipment_id) == (
        "1ZA1B2C30394827153", "1ZA1B2C30394827153")
    assert (result.charge, result.currency, result.created_at) == (
        Decimal("18.42"), "USD", NOW)
    assert len(result.packages) == 2


async def test_a_purchase_refusal_is_rejected_with_the_ups_messages(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(SHIP_PATH).respond(400, json=fixture("ship_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.purchase(LABEL_REQUEST, "lbl_01")

    assert [(m.code, m.message) for m in caught.value.messages] == [
        ("120802", "Address Validation Error on ShipTo address")]


# ---- void ---------------------------------------------------------------------------


async def test_void_deletes_the_shipment_by_its_identification_number(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.delete(VOID_PATH).respond(200, json=fixture("void_response.json"))
        result = await ups.void(label())

    assert route.call_count == 1
    assert route.calls.last.request.headers["transactionSrc"] == "erp-gateway"
    assert (result.carrier, result.voided) == ("ups", True)


async def test_a_void_refused_by_ups_is_a_result_not_an_error(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.delete(VOID_PATH).respond(400, json=fixture("void_refused.json"))
        result = await ups.void(label())

    assert result.voided is False
    assert result.message == "190102: No shipment found within the allowed void period"


async def test_a_forbidden_void_is_still_an_error(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.delete(VOID_PATH).respond(403, json=fixture("unauthorized.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.void(label())

    assert caught.value.status_code == 403


# ---- track --------------------------------------------------------------------------


async def test_track_gets_details_with_the_transaction_headers(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.get(TRACK_PATH, params={"locale": "en_US"}).respond(
            200, json=fixture("track_response.json"))
        tracking = await ups.track("1ZA1B2C30394827153")

    sent = route.calls.last.request
    assert sent.headers["transactionSrc"] == "erp-gateway"
    assert len(sent.headers["transId"]) == 32
    assert tracking.status is TrackingStatus.OUT_FOR_DELIVERY
    assert len(tracking.events) == 4


async def test_an_unknown_tracking_number_is_rejected(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.get(TRACK_PATH).respond(404, json=fixture("track_not_found.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.track("1ZA1B2C30394827153")

    assert (caught.value.status_code, caught.value.messages[0].code) == (404, "TW0001")


# ---- OAuth token --------------------------------------------------------------------


async def test_one_token_serves_several_calls(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, json=fixture("rate_response.json"))
        mock.get(TRACK_PATH).respond(200, json=fixture("track_response.json"))
        mock.delete(VOID_PATH).respond(200, json=fixture("void_response.json"))
        await ups.rate(RATE_REQUEST)
        await asyncio.gather(*(ups.track("1ZA1B2C30394827153") for _ in range(3)))
        await ups.void(label())

    assert token.call_count == 1


async def test_a_401_refreshes_the_token_once_and_retries_the_call(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1"), token_reply("token-2")])
        route = mock.post(RATE_PATH).mock(side_effect=[
            httpx.Response(401, json=fixture("unauthorized.json")),
            httpx.Response(200, json=fixture("rate_response.json")),
        ])
        rates = await ups.rate(RATE_REQUEST)

    assert (token.call_count, route.call_count) == (2, 2)
    first, second = (call.request for call in route.calls)
    assert first.headers["Authorization"] == "Bearer token-1"
    assert second.headers["Authorization"] == "Bearer token-2"
    assert first.headers["transId"] != second.headers["transId"]
    assert len(rates) == 3


async def test_a_second_401_is_rejected_instead_of_retried_again(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1"), token_reply("token-2")])
        route = mock.post(RATE_PATH).respond(401, json=fixture("unauthorized.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.rate(RATE_REQUEST)

    assert (token.call_count, route.call_count, caught.value.status_code) == (2, 2, 401)


async def test_the_token_is_refreshed_when_it_nears_expiry(ups: UPSCarrier,
                                                           clock: FakeClock) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1", "3600"), token_reply("token-2", "3600")])
        route = mock.get(TRACK_PATH).respond(200, json=fixture("track_response.json"))
        await ups.track("1ZA1B2C30394827153")
        clock.now += 3500  # still more than the 60 s refresh margin left
        await ups.track("1ZA1B2C30394827153")
        clock.now += 50  # now inside the margin
        await ups.track("1ZA1B2C30394827153")

    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_refused_credentials_are_rejected(ups: UPSCarrier) -> None:
    with mock_ups() as mock:
        token = mock.post(TOKEN_PATH).respond(401, json=fixture("unauthorized.json"))
        with pytest.raises(CarrierRejected) as caught:
            await ups.track("1ZA1B2C30394827153")

    assert token.call_count == 1
    assert caught.value.messages[0].code == "250002"


async def test_production_accounts_call_the_production_host() -> None:
    carrier = UPSCarrier("ups-prod", config(environment="production"))
    try:
        with respx.mock(base_url="https://onlinetools.ups.com", assert_all_called=True) as mock:
            mock.post(TOKEN_PATH).mock(return_value=token_reply())
            route = mock.get(TRACK_PATH).respond(200, json=fixture("track_response.json"))
            await carrier.track("1ZA1B2C30394827153")
        assert route.called
    finally:
        await carrier.aclose()
