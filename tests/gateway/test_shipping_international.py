"""International labels against the demo's sandbox carrier, over HTTP: what a warehouse
client built against the demo sees."""

import base64

import pytest

from gateway.demo import demo_shipping
from gateway.settings import Settings
from tests.support.app import WAREHOUSE, gateway

ADDRESS_FROM = {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark", "state": "NJ",
                "postal_code": "07101", "country": "US", "phone": "+1 973 555 0100"}
ADDRESS_TO = {"name": "Anna Kowalska", "street": ["ul. Marszałkowska 84/92"],
              "city": "Warszawa", "postal_code": "00-514", "country": "PL",
              "phone": "+48 22 555 01 99", "email": "anna@example.pl"}
CUSTOMS = {"contents_type": "merchandise", "incoterm": "DAP", "invoice_number": "INV-PL-1",
           "items": [{"description": "Running shoes", "quantity": 2, "unit_value": "64.90",
                      "currency": "USD", "net_weight": "0.8", "hs_code": "6404.11 00",
                      "origin_country": "VN", "sku": "RUN-42"}],
           "tax_ids": [{"party": "importer", "kind": "vat", "number": "PL5260250995"}]}


def label(**extra):
    return {"warehouse": "WH-EAST", "carrier": "sandbox-main", "service": "expedited",
            "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO,
            "parcels": [{"weight": "1.9"}], "customs": CUSTOMS, **extra}


@pytest.fixture
def settings(tmp_path):
    return Settings(demo=True, shipping=demo_shipping(tmp_path / "labels.sqlite3"))


async def test_an_international_label_comes_with_its_commercial_invoice(settings):
    async with gateway(settings) as (_, client):
        response = await client.post("/v2/shipping/labels", json=label(),
                                     headers={**WAREHOUSE, "Idempotency-Key": "pl-1"})
    assert response.status_code == 201, response.text
    [invoice] = response.json()["documents"]
    assert invoice["kind"] == "commercial_invoice"
    assert base64.b64decode(invoice["data"]).startswith(b"%PDF")


async def test_a_label_the_carrier_would_refuse_is_a_422_naming_the_field(settings):
    body = label(customs={**CUSTOMS, "items": [{**CUSTOMS["items"][0], "hs_code": None}]})
    async with gateway(settings) as (_, client):
        refused = await client.post("/v2/shipping/labels", json=body,
                                    headers={**WAREHOUSE, "Idempotency-Key": "pl-2"})
        fixed = await client.post("/v2/shipping/labels", json=label(),
                                  headers={**WAREHOUSE, "Idempotency-Key": "pl-2"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert [m["field"] for m in problem["messages"]] == ["customs.items[0].hs_code"]
    assert "hs_code" in problem["detail"]
    # nothing was claimed: the corrected request buys with the same key
    assert fixed.status_code == 201, fixed.text


async def test_an_inconsistent_declaration_is_a_422_naming_the_field(settings):
    body = label(customs={**CUSTOMS, "declared_value": "100.00"})
    async with gateway(settings) as (_, client):
        response = await client.post("/v2/shipping/labels", json=body,
                                     headers={**WAREHOUSE, "Idempotency-Key": "pl-3"})
    assert response.status_code == 422
    assert [m["field"] for m in response.json()["messages"]] == ["customs.declared_value"]


async def test_rates_across_the_border_carry_duties_and_taxes_apart(settings):
    body = {"warehouse": "WH-EAST", "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO,
            "parcels": [{"weight": "1.9"}], "customs": CUSTOMS}
    async with gateway(settings) as (_, client):
        response = await client.post("/v2/shipping/rates", json=body, headers=WAREHOUSE)
    assert response.status_code == 200, response.text
    kinds = {c["kind"] for r in response.json()["rates"] for c in r["charges"]}
    assert kinds == {"duties", "taxes"}
