"""Labels belong to their buyer or to their warehouse: anyone else gets a 404, admin sees all."""

from __future__ import annotations

from typing import Any

import httpx
import respx
from joserfc.jwk import ECKey

from gateway.settings import Settings
from policies.problems import PROBLEM_JSON
from tests.security.conftest import idp_token, key_of
from tests.support.app import gateway

ADDRESS_FROM = {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                "postal_code": "07101", "country": "US"}
ADDRESS_TO = {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver", "state": "CO",
              "postal_code": "80202", "country": "US"}


def label_body(warehouse: str = "WH-EAST") -> dict[str, Any]:
    return {"warehouse": warehouse, "carrier": "sandbox-main", "service": "ground",
            "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO,
            "parcels": [{"weight": "2.5", "dimensions": {"length": 30, "width": 20,
                                                         "height": 10}}]}


async def buy(client: httpx.AsyncClient, who: dict[str, str], key: str,
              warehouse: str = "WH-EAST") -> httpx.Response:
    return await client.post("/v1/shipping/labels", json=label_body(warehouse),
                             headers={**who, "Idempotency-Key": key})


def _not_found(response: httpx.Response, label_id: str) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    # the whole message, closing quote included, and nothing about who owns it
    assert response.json()["detail"] == f"no label '{label_id}'"


async def test_another_clients_label_is_not_found_for_reprint_or_void(settings: Settings) -> None:
    async with gateway(settings) as (app, client):
        bought = await buy(client, key_of("wms-a"), "order-1")
        label_id = bought.json()["id"]
        reprint = await client.get(f"/v1/shipping/labels/{label_id}", headers=key_of("wms-b"))
        void = await client.delete(f"/v1/shipping/labels/{label_id}", headers=key_of("wms-b"))
        missing = await client.get("/v1/shipping/labels/lbl_000000000000000000000000",
                                   headers=key_of("wms-b"))
        own = await client.get(f"/v1/shipping/labels/{label_id}", headers=key_of("wms-a"))
        sandbox = app.state.services.shipping.registry.get("sandbox-main").inner
    assert bought.status_code == 201
    _not_found(reprint, label_id)
    _not_found(void, label_id)
    _not_found(missing, "lbl_000000000000000000000000")
    assert own.status_code == 200 and own.json()["voided"] is False
    assert sandbox.calls["void"] == 0


async def test_the_same_idempotency_key_of_another_client_buys_its_own_label(
        settings: Settings) -> None:
    async with gateway(settings) as (app, client):
        first = await buy(client, key_of("wms-a"), "order-1")
        other = await buy(client, key_of("wms-b"), "order-1")
        again = await buy(client, key_of("wms-a"), "order-1")
        sandbox = app.state.services.shipping.registry.get("sandbox-main").inner
    assert first.status_code == other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    assert again.json() == first.json()
    assert sandbox.purchase_count == 2


async def test_a_warehouse_client_buys_only_for_its_warehouses(settings: Settings) -> None:
    async with gateway(settings) as (app, client):
        west = await buy(client, key_of("east-1"), "w-1", warehouse="WH-WEST")
        east = await buy(client, key_of("east-1"), "e-1", warehouse="WH-EAST")
        sandbox = app.state.services.shipping.registry.get("sandbox-main").inner
    assert west.status_code == 404
    assert west.headers["content-type"] == PROBLEM_JSON
    assert west.json()["detail"] == "no warehouse 'WH-WEST' to ship from for this client"
    assert east.status_code == 201
    assert sandbox.purchase_count == 1


async def test_warehouse_clients_share_the_labels_of_their_warehouses_only(
        settings: Settings) -> None:
    async with gateway(settings) as (_, client):
        east = (await buy(client, key_of("east-2"), "e-1", warehouse="WH-EAST")).json()["id"]
        central = (await buy(client, key_of("east-2"), "c-1",
                             warehouse="WH-CENTRAL")).json()["id"]
        west = (await buy(client, key_of("wms-a"), "w-1", warehouse="WH-WEST")).json()["id"]
        by_a_in_east = (await buy(client, key_of("wms-a"), "e-2")).json()["id"]
        results = {
            (who, label): (await client.get(f"/v1/shipping/labels/{label}",
                                            headers=key_of(who))).status_code
            for who in ("east-1", "east-2", "wms-a", "wms-b")
            for label in (east, central, west, by_a_in_east)}
        voided = await client.delete(f"/v1/shipping/labels/{east}", headers=key_of("east-1"))
        refused = await client.delete(f"/v1/shipping/labels/{central}",
                                      headers=key_of("east-1"))
    assert results == {
        # east-1 ships from WH-EAST: every WH-EAST label, whoever bought it
        ("east-1", east): 200, ("east-1", central): 404, ("east-1", west): 404,
        ("east-1", by_a_in_east): 200,
        ("east-2", east): 200, ("east-2", central): 200, ("east-2", west): 404,
        ("east-2", by_a_in_east): 200,
        # an unrestricted client sees what it bought, nothing else
        ("wms-a", east): 404, ("wms-a", central): 404, ("wms-a", west): 200,
        ("wms-a", by_a_in_east): 200,
        ("wms-b", east): 404, ("wms-b", central): 404, ("wms-b", west): 404,
        ("wms-b", by_a_in_east): 404,
    }
    assert voided.status_code == 200 and voided.json()["voided"] is True
    _not_found(refused, central)


async def test_admin_reprints_and_voids_any_label(settings: Settings) -> None:
    async with gateway(settings) as (_, client):
        label_id = (await buy(client, key_of("east-1"), "e-1")).json()["id"]
        reprint = await client.get(f"/v1/shipping/labels/{label_id}", headers=key_of("ops"))
        void = await client.delete(f"/v1/shipping/labels/{label_id}", headers=key_of("ops"))
        after = await client.get(f"/v1/shipping/labels/{label_id}", headers=key_of("east-1"))
    assert reprint.status_code == 200 and reprint.json()["id"] == label_id
    assert void.status_code == 200 and void.json()["voided"] is True
    assert after.json()["voided"] is True


async def test_an_external_token_naming_an_own_client_gets_none_of_its_labels(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey) -> None:
    impostor = idp_token(idp_key, sub="wms-a")
    async with gateway(settings) as (app, client):
        first = await buy(client, key_of("wms-a"), "order-1")
        replayed = await buy(client, impostor, "order-1")
        reprint = await client.get(f"/v1/shipping/labels/{first.json()['id']}",
                                   headers=impostor)
        own = await client.get(f"/v1/shipping/labels/{replayed.json()['id']}",
                               headers=impostor)
        by_a = await client.get(f"/v1/shipping/labels/{replayed.json()['id']}",
                                headers=key_of("wms-a"))
        sandbox = app.state.services.shipping.registry.get("sandbox-main").inner
    assert idp.calls.call_count >= 1
    assert first.status_code == replayed.status_code == 201
    assert replayed.json()["id"] != first.json()["id"]
    assert sandbox.purchase_count == 2
    _not_found(reprint, first.json()["id"])
    assert own.status_code == 200
    _not_found(by_a, replayed.json()["id"])
