"""An external caller is keyed by issuer and subject: it never shares an own client's state."""

from __future__ import annotations

import respx
from joserfc.jwk import ECKey

from gateway.settings import Settings
from policies.auth import Principal
from policies.auth.types import principal_key
from tests.security.conftest import IDP, idp_token, key_of
from tests.support.app import gateway

SKU = "/v1/inventory/SKU-0001"


def test_principal_keys_of_own_and_external_callers_never_collide() -> None:
    own = Principal("wms-a", frozenset(), "default", frozenset(), "api_key")
    external = Principal("wms-a", frozenset(), "default", frozenset(), "external_jwt",
                         issuer=IDP)
    assert own.key == "wms-a"
    assert external.key != own.key and external.key.startswith("ext:")
    # issuer and subject are both escaped: no split of "a:b" + "c" equals "a" + "b:c"
    assert principal_key("c", "a:b") != principal_key("b:c", "a")
    assert principal_key("x", "https://idp/") != principal_key("x", "https://idp")


async def test_an_external_token_naming_an_own_client_has_its_own_rate_limit_counters(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey) -> None:
    impostor = idp_token(idp_key, sub="wms-a")
    async with gateway(settings) as (_, client):
        own = [(await client.get(SKU, headers=key_of("wms-a"))).status_code for _ in range(4)]
        external = [(await client.get(SKU, headers=impostor)).status_code for _ in range(4)]
    assert idp.calls.call_count == 1
    # the "tight" plan admits 3 inventory reads a minute per caller
    assert own == [200, 200, 200, 429]
    assert external == [200, 200, 200, 429]


async def test_azp_is_qualified_by_issuer_too(
        settings: Settings, idp: respx.MockRouter, idp_key: ECKey) -> None:
    async with gateway(settings) as (_, client):
        spent = [(await client.get(SKU, headers=idp_token(idp_key, azp="wms-a", sub="u1")))
                 .status_code for _ in range(3)]
        own = await client.get(SKU, headers=key_of("wms-a"))
        same_azp = await client.get(SKU, headers=idp_token(idp_key, azp="wms-a", sub="u2"))
    assert idp.calls.call_count == 1
    assert spent == [200, 200, 200]
    assert own.status_code == 200
    # azp names the client at the IdP: another user of that client shares its counters
    assert same_azp.status_code == 429
