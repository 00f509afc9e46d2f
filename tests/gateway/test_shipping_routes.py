import asyncio

import pytest

from gateway.demo import demo_shipping
from gateway.settings import Settings
from tests.support.app import STOREFRONT, WAREHOUSE, gateway

ADDRESS_FROM = {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                "postal_code": "07101", "country": "US", "phone": "+1 555 0100"}
ADDRESS_TO = {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver", "state": "CO",
              "postal_code": "80202", "country": "US", "phone": "+1 555 0199"}
PARCEL = {"weight": "2.5", "dimensions": {"length": 30, "width": 20, "height": 10}}


def rate_request(**extra):
    return {"warehouse": "WH-EAST", "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO,
            "parcels": [PARCEL], **extra}


def label_request(**extra):
    return {"warehouse": "WH-EAST", "carrier": "sandbox-main", "service": "ground",
            "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO, "parcels": [PARCEL], **extra}


@pytest.fixture
def settings(tmp_path):
    return Settings(demo=True, shipping=demo_shipping(tmp_path / "labels.sqlite3"))


def sandbox(app, account="sandbox-main"):
    return app.state.services.shipping.registry.get(account).inner


async def test_rate_shop_returns_live_rates_of_both_accounts_with_tags(settings):
    async with gateway(settings) as (_, client):
        response = await client.post("/v1/shipping/rates", json=rate_request(),
                                     headers=WAREHOUSE)
    assert response.status_code == 200, response.text
    rates = response.json()["rates"]
    assert {r["carrier_account"] for r in rates} == {"sandbox-main", "sandbox-backup"}
    assert all(r["source"] == "live" for r in rates)
    tags = [t for r in rates for t in r["tags"]]
    assert sorted(tags) == ["best_value", "cheapest", "fastest"]


async def test_storefront_clients_cannot_rate_shop(settings):
    async with gateway(settings) as (_, client):
        response = await client.post("/v1/shipping/rates", json=rate_request(),
                                     headers=STOREFRONT)
    assert response.status_code == 403


async def test_a_label_is_bought_once_and_replayed_identically(settings):
    async with gateway(settings) as (app, client):
        headers = {**WAREHOUSE, "Idempotency-Key": "order-1001-box-1"}
        first = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        again = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        reprint = await client.get(first.headers["location"], headers=WAREHOUSE)
        purchases = sandbox(app).purchase_count
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json() == reprint.json()
    assert first.json()["packages"][0]["data"]
    assert purchases == 1


async def test_200_concurrent_identical_label_requests_make_one_purchase(settings):
    async with gateway(settings) as (app, client):
        headers = {**WAREHOUSE, "Idempotency-Key": "burst-1"}
        responses = await asyncio.gather(*[
            client.post("/v1/shipping/labels", json=label_request(), headers=headers)
            for _ in range(200)])
        purchases = sandbox(app).purchase_count
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert purchases == 1


async def test_the_same_key_with_another_body_is_refused(settings):
    async with gateway(settings) as (app, client):
        headers = {**WAREHOUSE, "Idempotency-Key": "k-77"}
        ok = await client.post("/v1/shipping/labels", json=label_request(), headers=headers)
        other = await client.post("/v1/shipping/labels",
                                  json=label_request(service="overnight"), headers=headers)
        purchases = sandbox(app).purchase_count
    assert ok.status_code == 201
    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]
    assert purchases == 1


async def test_a_label_without_idempotency_key_is_refused_before_any_purchase(settings):
    async with gateway(settings) as (app, client):
        response = await client.post("/v1/shipping/labels", json=label_request(),
                                     headers=WAREHOUSE)
        purchases = sandbox(app).purchase_count
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert purchases == 0


async def test_an_unknown_carrier_in_the_body_is_a_422(settings):
    async with gateway(settings) as (_, client):
        response = await client.post("/v1/shipping/labels", json=label_request(carrier="nope"),
                                     headers={**WAREHOUSE, "Idempotency-Key": "x-1"})
    assert response.status_code == 422
    assert "nope" in response.json()["detail"]


async def test_void_then_track_a_label(settings):
    async with gateway(settings) as (_, client):
        bought = await client.post("/v1/shipping/labels", json=label_request(),
                                   headers={**WAREHOUSE, "Idempotency-Key": "void-me"})
        label = bought.json()
        voided = await client.delete(f"/v1/shipping/labels/{label['id']}", headers=WAREHOUSE)
        tracking = await client.get(
            f"/v1/shipping/tracking/sandbox-main/{label['tracking_number']}", headers=WAREHOUSE)
        missing = await client.get("/v1/shipping/labels/nope", headers=WAREHOUSE)
    assert voided.status_code == 200 and voided.json()["voided"] is True
    assert tracking.status_code == 200
    assert tracking.json()["tracking_number"] == label["tracking_number"]
    assert missing.status_code == 404
