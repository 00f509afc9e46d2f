"""One request, one credential: repeated or mixed credentials are refused, valid or not."""

from __future__ import annotations

import httpx
import pytest
import respx
from joserfc.jwk import ECKey

from gateway.settings import Settings
from policies.problems import PROBLEM_JSON
from tests.security.conftest import idp_token
from tests.support.app import gateway

SKU = "/v1/inventory/SKU-0001"


def _refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"] == f"send one credential: {why}"


@pytest.mark.parametrize("keys", [
    ("wrong-key", "wms-a-key"),
    ("wms-a-key", "wrong-key"),
    ("wms-a-key", "wms-a-key"),
    ("wms-a-key", "wms-b-key"),
])
async def test_a_repeated_api_key_header_is_refused_in_any_order(
        settings: Settings, keys: tuple[str, str]) -> None:
    async with gateway(settings) as (_, client):
        alone = await client.get(SKU, headers={"X-API-Key": "wms-a-key"})
        response = await client.get(SKU, headers=[("X-API-Key", k) for k in keys])
    assert alone.status_code == 200
    _refused(response, "X-API-Key is repeated")


@pytest.mark.parametrize("order", ["valid first", "valid last", "both valid"])
async def test_a_repeated_authorization_header_is_refused(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey, order: str) -> None:
    valid = idp_token(idp_key)["Authorization"]
    pairs = {"valid first": (valid, "Bearer x.y.z"), "valid last": ("Bearer x.y.z", valid),
             "both valid": (valid, idp_token(idp_key, sub="other")["Authorization"])}[order]
    async with gateway(settings) as (_, client):
        alone = await client.get(SKU, headers={"Authorization": valid})
        response = await client.get(SKU, headers=[("Authorization", v) for v in pairs])
    assert alone.status_code == 200, alone.text
    _refused(response, "Authorization is repeated")
    assert idp.calls.call_count == 1  # the key set, for the lone token only


@pytest.mark.parametrize("key_first", [True, False])
async def test_an_api_key_and_a_bearer_token_together_are_refused_both_valid(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey, key_first: bool) -> None:
    pairs = [("X-API-Key", "wms-a-key"), ("Authorization", idp_token(idp_key)["Authorization"])]
    async with gateway(settings) as (_, client):
        response = await client.get(SKU, headers=pairs if key_first else pairs[::-1])
    _refused(response, "X-API-Key or Authorization, not both")


async def test_a_wrong_key_beside_a_valid_bearer_is_refused(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey) -> None:
    async with gateway(settings) as (_, client):
        response = await client.get(SKU, headers=[("Authorization", idp_token(idp_key)[
            "Authorization"]), ("X-API-Key", "wrong-key")])
    _refused(response, "X-API-Key or Authorization, not both")
    assert idp.calls.call_count == 0  # refused before any token is looked at
