"""Outgoing HTTP clients ignore the environment's proxy variables; proxies are configured."""

from __future__ import annotations

from collections.abc import Iterator

import httpcore
import httpx
import pytest
import respx
from pydantic import SecretStr

from carriers.adapters import dhl, fedex, ups, usps
from gateway.erp.demo.http import HttpDemoConfig, HttpDemoConnector
from gateway.erp.tryton import TrytonConfig, TrytonConnector
from policies.auth import AuthConfig, Authenticator, ExternalIssuerConfig, KeyRing
from policies.auth.config import SigningKeyConfig, TokenConfig
from policies.auth.keys import generate_ed25519_pem

# loopback, nothing listening: a client that used it could not connect
ENV_PROXY = "http://127.0.0.1:9"
TARGET = "https://outbound.example/ping"

CARRIER_OPTIONS = {
    "ups": (ups, {"client_id": "i", "client_secret": "s", "shipper_number": "A1B2C3",
                  "environment": "test"}),
    "fedex": (fedex, {"client_id": "i", "client_secret": "s", "account_number": "123456789",
                      "environment": "test"}),
    "usps": (usps, {"client_id": "i", "client_secret": "s", "environment": "test"}),
    "dhl": (dhl, {"api_key": "k", "api_secret": "s", "account_number": "123456789",
                  "environment": "test"}),
}


@pytest.fixture(autouse=True)
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy",
                 "all_proxy"):
        monkeypatch.setenv(name, ENV_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield


def _proxied(client: httpx.AsyncClient, url: str = TARGET) -> bool:
    transport = client._transport_for_url(httpx.URL(url))
    pool = getattr(transport, "_pool", None)
    return bool(client._mounts) or isinstance(pool, httpcore.AsyncHTTPProxy)


async def _goes_direct(client: httpx.AsyncClient) -> None:
    """No proxy mount, and a request reaches the (mocked) target itself."""
    assert not _proxied(client)
    with respx.mock(assert_all_called=True) as router:
        route = router.get(TARGET).respond(204)
        response = await client.get(TARGET)
    assert response.status_code == 204
    assert route.calls.last.request.url == TARGET


async def test_a_default_client_would_read_these_variables() -> None:
    # the control: what trust_env=True (httpx's default) does with the same environment
    async with httpx.AsyncClient() as client:
        assert _proxied(client)


@pytest.mark.parametrize("name", sorted(CARRIER_OPTIONS))
async def test_carrier_clients_ignore_environment_proxies(name: str) -> None:
    module, options = CARRIER_OPTIONS[name]
    carrier = module.build(f"{name}-1", options)
    try:
        await _goes_direct(carrier._client)  # type: ignore[attr-defined]
    finally:
        await carrier.aclose()


@pytest.mark.parametrize("name", sorted(CARRIER_OPTIONS))
async def test_a_carrier_account_proxy_is_used_when_configured(name: str) -> None:
    module, options = CARRIER_OPTIONS[name]
    carrier = module.build(f"{name}-1", {**options, "proxy": "http://proxy.internal:3128"})
    try:
        assert _proxied(carrier._client)  # type: ignore[attr-defined]
    finally:
        await carrier.aclose()


async def test_erp_clients_ignore_environment_proxies() -> None:
    demo = HttpDemoConnector(HttpDemoConfig(url="https://outbound.example"))
    tryton = TrytonConnector(TrytonConfig(url="https://outbound.example", database="d",
                                          username="u", password=SecretStr("p")))
    try:
        await _goes_direct(demo._client)
        await _goes_direct(tryton.session.client)
    finally:
        await demo.aclose()
        await tryton.aclose()
    proxied = HttpDemoConnector(HttpDemoConfig(url="https://outbound.example",
                                               proxy="http://proxy.internal:3128"))
    try:
        assert _proxied(proxied._client)
    finally:
        await proxied.aclose()


def _auth(*issuers: ExternalIssuerConfig) -> AuthConfig:
    return AuthConfig(token=TokenConfig(issuer="https://gw", audience="gw"),
                      signing_keys=[SigningKeyConfig(kid="k", algorithm="Ed25519",
                                                     private_key_pem=SecretStr(
                                                         generate_ed25519_pem()))],
                      external_issuers=list(issuers))


async def test_jwks_clients_ignore_environment_proxies_and_use_the_issuers_own() -> None:
    direct = ExternalIssuerConfig(issuer="https://idp-a", jwks_url="https://idp-a/jwks",
                                  audience="gw")
    via = ExternalIssuerConfig(issuer="https://idp-b", jwks_url="https://idp-b/jwks",
                               audience="gw", proxy="http://proxy.internal:3128")
    config = _auth(direct, via)
    authenticator = Authenticator(config, KeyRing.from_config(config.signing_keys,
                                                              config.token))
    try:
        clients = authenticator._owned_http
        assert set(clients) == {None, "http://proxy.internal:3128"}
        await _goes_direct(clients[None])
        assert _proxied(clients["http://proxy.internal:3128"])
    finally:
        await authenticator.aclose()
