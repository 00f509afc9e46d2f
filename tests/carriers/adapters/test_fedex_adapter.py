"""FedEx transport: the URLs called, the OAuth token's life, and HTTP failures as carrier errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from carriers.adapters import fedex as package
from carriers.adapters.fedex import FedExCarrier, build
from carriers.base import (
    Capability,
    Carrier,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.models import TrackingStatus
from tests.carriers.adapters.test_fedex_mapping import (
    LABEL_REQUEST,
    RATE_REQUEST,
    config,
    fixture,
    label,
)

HOST = "https://apis-sandbox.fedex.com"
TOKEN_PATH = "/oauth/token"
RATE_PATH = "/rate/v1/rates/quotes"
SHIP_PATH = "/ship/v1/shipments"
CANCEL_PATH = "/ship/v1/shipments/cancel"
TRACK_PATH = "/track/v1/trackingnumbers"
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
async def fedex(clock: FakeClock) -> AsyncIterator[FedExCarrier]:
    carrier = FedExCarrier("fedex-east", config(), clock=clock, now=lambda: NOW)
    yield carrier
    await carrier.aclose()


def token_reply(token: str = "token-1", expires_in: int = 3599) -> httpx.Response:
    return httpx.Response(200, json={**fixture("token.json"), "access_token": token,
                                     "expires_in": expires_in})


def mock_fedex() -> respx.MockRouter:
    return respx.mock(base_url=HOST, assert_all_called=True)


async def test_build_validates_options_into_a_carrier() -> None:
    carrier = build("fedex-east", {"client_id": "id", "client_secret": "secret",
                                   "account_number": "740561073", "environment": "test",
                                   "timeout_seconds": 5})
    try:
        assert isinstance(carrier, Carrier)
        assert (carrier.id, carrier.carrier) == ("fedex-east", "fedex")
        assert carrier.capabilities == frozenset(Capability)
    finally:
        await carrier.aclose()


def test_the_package_exposes_build_the_carrier_and_its_config() -> None:
    assert sorted(package.__all__) == ["FedExCarrier", "FedExConfig", "build"]


# ---- rate ---------------------------------------------------------------------------


async def test_rate_posts_the_mapped_request_to_rate_quotes(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.post(RATE_PATH).respond(200, json=fixture("rate_response.json"))
        rates = await fedex.rate(RATE_REQUEST)

    assert (token.call_count, route.call_count) == (1, 1)
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer token-1"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == fixture("rate_request.json")
    assert [r.service for r in rates] == ["fedex_ground", "fedex_2_day", "priority_overnight"]


async def test_the_token_request_posts_the_client_credentials_as_a_form(
        fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, json=fixture("rate_response.json"))
        await fedex.rate(RATE_REQUEST)

    sent = token.calls.last.request
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in sent.headers
    assert parse_qs(sent.content.decode()) == {"grant_type": ["client_credentials"],
                                               "client_id": ["sandbox-client-id"],
                                               "client_secret": ["sandbox-secret"]}


async def test_a_rate_refusal_is_rejected_with_the_fedex_messages(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(400, json=fixture("rate_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await fedex.rate(RATE_REQUEST)

    assert caught.value.status_code == 400
    assert [(m.carrier, m.code) for m in caught.value.messages] == [
        ("fedex", "ACCOUNT.NUMBER.MISMATCH")]


@pytest.mark.parametrize("status", [503, 429])
async def test_unavailability_and_rate_limits_are_unavailable(fedex: FedExCarrier,
                                                              status: int) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(status, json=fixture("unavailable.json"),
                                     headers={"Retry-After": "20"})
        with pytest.raises(CarrierUnavailable) as caught:
            await fedex.rate(RATE_REQUEST)

    assert [m.code for m in caught.value.messages] == ["SERVICE.UNAVAILABLE.ERROR"]
    assert caught.value.retry_after == 20


async def test_a_slow_answer_is_a_carrier_timeout(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).mock(side_effect=httpx.ConnectTimeout)
        with pytest.raises(CarrierTimeout):
            await fedex.rate(RATE_REQUEST)


async def test_a_success_reply_of_the_wrong_shape_is_unavailability(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, json={"output": {}})
        with pytest.raises(CarrierUnavailable, match="unexpected_reply"):
            await fedex.rate(RATE_REQUEST)


# ---- purchase -----------------------------------------------------------------------


async def test_purchase_posts_the_shipment_and_returns_every_label(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.post(SHIP_PATH).respond(200, json=fixture("ship_response.json"))
        result = await fedex.purchase(LABEL_REQUEST, "lbl_01")

    sent = route.calls.last.request
    assert sent.headers["x-customer-transaction-id"] == "lbl_01"
    assert json.loads(sent.content) == fixture("ship_request.json")
    assert (result.tracking_number, result.charge, result.currency, result.created_at) == (
        "794953535000", Decimal("17.95"), "USD", NOW)
    assert [p.tracking_number for p in result.packages] == ["794953535000", "794953535011"]


async def test_a_purchase_refusal_is_rejected_with_the_fedex_messages(
        fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(SHIP_PATH).respond(400, json=fixture("ship_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await fedex.purchase(LABEL_REQUEST, "lbl_01")

    assert [m.code for m in caught.value.messages] == ["SHIPMENT.USER.UNAUTHORIZED"]


# ---- void ---------------------------------------------------------------------------


async def test_void_puts_a_cancel_for_the_master_tracking_number(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.put(CANCEL_PATH).respond(200, json=fixture("cancel_response.json"))
        result = await fedex.void(label())

    assert json.loads(route.calls.last.request.content)["trackingNumber"] == "794953535000"
    assert (result.voided, result.tracking_number) == (True, "794953535000")


async def test_a_cancel_refused_by_fedex_is_a_result_not_an_error(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.put(CANCEL_PATH).respond(400, json=fixture("cancel_error.json"))
        result = await fedex.void(label())

    assert result.voided is False
    assert result.message is not None
    assert result.message.startswith("TRACKINGNUMBER.ENTERED.INVALID: ")


async def test_a_cancel_during_an_outage_is_still_an_error(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.put(CANCEL_PATH).respond(503, json=fixture("unavailable.json"))
        with pytest.raises(CarrierUnavailable):
            await fedex.void(label())


# ---- track --------------------------------------------------------------------------


async def test_track_posts_the_number_and_reads_the_scans(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        route = mock.post(TRACK_PATH).respond(200, json=fixture("track_response.json"))
        tracking = await fedex.track("794953535000")

    assert json.loads(route.calls.last.request.content) == {
        "includeDetailedScans": True,
        "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": "794953535000"}}],
    }
    assert tracking.status is TrackingStatus.DELIVERED
    assert len(tracking.events) == 5


async def test_an_unknown_tracking_number_is_rejected(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(TRACK_PATH).respond(404, json=fixture("track_error.json"))
        with pytest.raises(CarrierRejected) as caught:
            await fedex.track("794953535000")

    assert (caught.value.status_code, caught.value.messages[0].code) == (
        404, "TRACKING.TRACKINGNUMBER.NOTFOUND")


# ---- OAuth token --------------------------------------------------------------------


async def test_one_token_serves_several_calls(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(return_value=token_reply())
        mock.post(RATE_PATH).respond(200, json=fixture("rate_response.json"))
        mock.post(TRACK_PATH).respond(200, json=fixture("track_response.json"))
        await asyncio.gather(fedex.rate(RATE_REQUEST), fedex.track("794953535000"),
                             fedex.track("794953535000"))
        await fedex.rate(RATE_REQUEST)

    assert token.call_count == 1


async def test_a_401_refreshes_the_token_once_and_retries_the_call(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1"), token_reply("token-2")])
        route = mock.post(TRACK_PATH).mock(side_effect=[
            httpx.Response(401, json=fixture("unauthorized.json")),
            httpx.Response(200, json=fixture("track_response.json")),
        ])
        tracking = await fedex.track("794953535000")

    assert (token.call_count, route.call_count) == (2, 2)
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer token-1", "Bearer token-2"]
    assert tracking.status is TrackingStatus.DELIVERED


async def test_a_second_401_is_rejected_instead_of_retried_again(fedex: FedExCarrier) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1"), token_reply("token-2")])
        route = mock.post(TRACK_PATH).respond(401, json=fixture("unauthorized.json"))
        with pytest.raises(CarrierRejected) as caught:
            await fedex.track("794953535000")

    assert (token.call_count, route.call_count, caught.value.status_code) == (2, 2, 401)
    assert caught.value.messages[0].code == "NOT.AUTHORIZED.ERROR"


async def test_the_token_is_refreshed_when_it_nears_expiry(fedex: FedExCarrier,
                                                           clock: FakeClock) -> None:
    with mock_fedex() as mock:
        token = mock.post(TOKEN_PATH).mock(
            side_effect=[token_reply("token-1"), token_reply("token-2")])
        route = mock.post(TRACK_PATH).respond(200, json=fixture("track_response.json"))
        await fedex.track("794953535000")
        clock.now += 3500  # 99 s left: more than the 60 s refresh margin
        await fedex.track("794953535000")
        clock.now += 40  # 59 s left
        await fedex.track("794953535000")

    assert token.call_count == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_production_accounts_call_the_production_host() -> None:
    carrier = FedExCarrier("fedex-prod", config(environment="production"))
    try:
        with respx.mock(base_url="https://apis.fedex.com", assert_all_called=True) as mock:
            mock.post(TOKEN_PATH).mock(return_value=token_reply())
            route = mock.post(TRACK_PATH).respond(200, json=fixture("track_response.json"))
            await carrier.track("794953535000")
        assert route.called
    finally:
        await carrier.aclose()
