"""DHL Express transport: URLs called with Basic auth, HTTP failures as carrier errors."""

from __future__ import annotations

import base64
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

from carriers.adapters.dhl import DhlExpressCarrier, DhlExpressConfig, build
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
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    Parcel,
    RateRequest,
    TrackingStatus,
)

FIXTURES = Path(__file__).parent / "fixtures" / "dhl"
BASE = "https://express.api.dhl.com/mydhlapi/test"
NOW = datetime(2025, 5, 26, 13, 0, tzinfo=UTC)
OPTIONS: dict[str, Any] = {
    "api_key": "demo-key", "api_secret": "demo-secret", "account_number": "123456789",
    "environment": "test", "timezone": "Europe/Berlin"}
BASIC = "Basic " + base64.b64encode(b"demo-key:demo-secret").decode()
LEIPZIG = Address(name="Lena Fischer", company="Acme Distribution GmbH",
                  street=["Radefelder Allee 2"], city="Schkeuditz", postal_code="04435",
                  country="DE", phone="+49 341 4499 0")
AMSTERDAM = Address(name="Joost de Vries", street=["Prinsengracht 263"], city="Amsterdam",
                    postal_code="1016 GV", country="NL", phone="+31 20 555 0199")
BOX = Parcel(weight=Decimal("2.5"), dimensions=Dimensions(length=Decimal("30"),
                                                          width=Decimal("20"),
                                                          height=Decimal("10")))
RATE_REQUEST = RateRequest(warehouse="lej", ship_from=LEIPZIG, ship_to=AMSTERDAM,
                           parcels=[BOX])
LABEL_REQUEST = LabelRequest(warehouse="lej", carrier="dhl-main", service="U",
                             ship_from=LEIPZIG, ship_to=AMSTERDAM, parcels=[BOX, BOX])


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
async def dhl() -> AsyncIterator[DhlExpressCarrier]:
    carrier = DhlExpressCarrier("dhl-main", DhlExpressConfig.model_validate(OPTIONS),
                                now=lambda: NOW)
    yield carrier
    await carrier.aclose()


# --- configuration and capabilities ------------------------------------------------------

async def test_build_returns_a_carrier_that_does_not_offer_void() -> None:
    carrier = build("dhl-main", OPTIONS)
    try:
        assert isinstance(carrier, Carrier)
        assert (carrier.id, carrier.carrier) == ("dhl-main", "dhl_express")
        assert carrier.capabilities == {Capability.RATE, Capability.LABEL, Capability.TRACK}
    finally:
        await carrier.aclose()


@pytest.mark.parametrize("bad", [
    {"timezone": "Mars/Olympus_Mons"},
    {"environment": "sandbox"},
    {"account_number": "not an account"},
    {"password": "x"},  # extra keys are refused
    {"content_description": " leading space"},
])
def test_bad_options_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        DhlExpressConfig.model_validate(OPTIONS | bad)


def test_production_is_the_documented_host_and_base_url_overrides_it() -> None:
    production = DhlExpressConfig.model_validate(OPTIONS | {"environment": "production"})
    local = DhlExpressConfig.model_validate(OPTIONS | {"base_url": "http://127.0.0.1:9000/"})

    assert production.url == "https://express.api.dhl.com/mydhlapi"
    assert local.url == "http://127.0.0.1:9000"


async def test_void_raises_capability_missing_without_calling_dhl(
        dhl: DhlExpressCarrier) -> None:
    label = Label(id="lbl-7", carrier="dhl_express", carrier_account="dhl-main", service="U",
                  tracking_number="5374534616", format=LabelFormat.PDF,
                  packages=[PackageLabel(tracking_number="JD014600004617230711", data="QQ==")],
                  charge=Decimal("45.81"), currency="EUR", created_at=NOW)
    with respx.mock(assert_all_called=True) as router:
        with pytest.raises(CapabilityMissing) as caught:
            await dhl.void(label)

    assert router.calls.call_count == 0
    assert "cannot be voided through the MyDHL API" in caught.value.messages[0].message


# --- rates --------------------------------------------------------------------------------

async def test_rate_posts_with_basic_auth_and_interface_version(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        route = router.post("/rates").respond(json=fixture("rates.json"))

        rates = await dhl.rate(RATE_REQUEST)

    request = route.calls.last.request
    assert request.headers["Authorization"] == BASIC
    assert request.headers["x-version"] == "3.1.0"
    sent = json.loads(request.content)
    assert sent["accounts"] == [{"typeCode": "shipper", "number": "123456789"}]
    assert sent["plannedShippingDateAndTime"] == "2025-05-26T15:10:00 GMT+02:00"
    assert [(r.service, r.amount) for r in rates] == [
        ("U", Decimal("45.81")), ("T", Decimal("58.17")), ("W", Decimal("23.42"))]


async def test_rate_refused_by_dhl_is_a_rejection_with_its_messages(
        dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/rates").respond(400, json=fixture("rates_error.json"),
                                      headers={"Content-Type": "application/problem+json"})

        with pytest.raises(CarrierRejected) as caught:
            await dhl.rate(RATE_REQUEST)

    assert caught.value.status_code == 400
    assert caught.value.messages[0].message.startswith("The account number is not found")


@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (500, {}, 30), (503, {"Retry-After": "45"}, 45), (429, {"Retry-After": "10"}, 10)])
async def test_rate_outage_is_unavailable(dhl: DhlExpressCarrier, status: int,
                                          headers: dict[str, str], retry_after: int) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/rates").respond(status, json=fixture("server_error.json"),
                                      headers=headers)

        with pytest.raises(CarrierUnavailable) as caught:
            await dhl.rate(RATE_REQUEST)

    assert (caught.value.status_code, caught.value.retry_after) == (status, retry_after)
    assert caught.value.messages[0].code == "999"


async def test_rate_timeout_is_a_carrier_timeout(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/rates").mock(side_effect=httpx.ConnectTimeout("no route"))

        with pytest.raises(CarrierTimeout):
            await dhl.rate(RATE_REQUEST)


# --- shipments ----------------------------------------------------------------------------

async def test_purchase_posts_one_shipment_for_all_parcels(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        route = router.post("/shipments").respond(201, json=fixture("shipment.json"))

        label = await dhl.purchase(LABEL_REQUEST, "lbl-7")

    request = route.calls.last.request
    assert request.headers["Authorization"] == BASIC
    sent = json.loads(request.content)
    assert (sent["productCode"], len(sent["content"]["packages"])) == ("U", 2)
    assert sent["outputImageProperties"]["encodingFormat"] == "pdf"
    assert (label.tracking_number, label.created_at) == ("5374534616", NOW)
    assert [p.tracking_number for p in label.packages] == [
        "JD014600004617230711", "JD014600004617230712"]


async def test_purchase_refused_by_dhl_lists_each_problem(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/shipments").respond(400, json=fixture("shipment_error.json"))

        with pytest.raises(CarrierRejected) as caught:
            await dhl.purchase(LABEL_REQUEST, "lbl-7")

    assert [m.code for m in caught.value.messages] == ["7008", "1001"]


async def test_purchase_schema_error_is_a_rejection(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.post("/shipments").respond(422, json=fixture("shipment_invalid.json"))

        with pytest.raises(CarrierRejected) as caught:
            await dhl.purchase(LABEL_REQUEST, "lbl-7")

    assert caught.value.status_code == 422


# --- tracking -----------------------------------------------------------------------------

async def test_track_reads_all_checkpoints_with_offsets(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        route = router.get("/shipments/5374534616/tracking", params={
            "trackingView": "all-checkpoints", "levelOfDetail": "shipment",
            "requestGMTOffsetPerEvent": "true"}).respond(json=fixture("tracking.json"))

        result = await dhl.track("5374534616")

    assert route.calls.last.request.headers["Authorization"] == BASIC
    assert (result.carrier, result.status) == ("dhl_express", TrackingStatus.OUT_FOR_DELIVERY)


async def test_unknown_waybill_is_a_rejection(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.get("/shipments/1251820953/tracking").respond(404,
                                                             json=fixture("tracking_error.json"))

        with pytest.raises(CarrierRejected) as caught:
            await dhl.track("1251820953")

    assert [(m.code, m.message) for m in caught.value.messages] == [("404", "No data found")]


async def test_unreadable_success_body_is_unavailable(dhl: DhlExpressCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        router.get("/shipments/5374534616/tracking").respond(200, json={"shipments": [
            {"events": [{"time": "10:00:00"}]}]})

        with pytest.raises(CarrierUnavailable) as caught:
            await dhl.track("5374534616")

    assert caught.value.messages[0].code == "unexpected_reply"
