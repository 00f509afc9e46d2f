"""A full run with every logger at DEBUG leaves no secret, API key, token or key in any record."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx
from joserfc.jwk import RSAKey

from policies.auth import AuthConfig, ExternalIssuerConfig, build_auth
from tests.policies.auth.conftest import BASE_URL, FakeClock, make_app, own_claims, sign

JWKS_URL = "https://idp.example/jwks"


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def _texts(record: logging.LogRecord) -> list[str]:
    texts = [record.getMessage(), repr(record.args), str(record.msg)]
    if record.exc_info and record.exc_info[1] is not None:
        texts.append(repr(record.exc_info[1]))
    if record.exc_text:
        texts.append(record.exc_text)
    return texts


async def test_full_run_logs_no_credentials(everything_at_debug: pytest.LogCaptureFixture,
                                            demo_config: AuthConfig) -> None:
    idp_key = RSAKey.generate_key(2048, parameters={"kid": "idp", "alg": "RS256"})
    issuer = ExternalIssuerConfig(issuer="https://idp.example/", jwks_url=JWKS_URL,
                                  audience="gw")
    config = demo_config.model_copy(update={"external_issuers": [issuer]})
    clock = FakeClock()
    secrets_seen: list[str] = ["demo-storefront-secret", "demo-warehouse-secret",
                               "demo-storefront-key", "wrong-secret-value", "wrong-api-key-value"]
    secrets_seen += [c.secret_hash or "" for c in config.clients]
    secrets_seen += [h for c in config.clients for h in c.api_key_hashes]
    pem = config.signing_keys[0].private_key_pem
    assert pem is not None
    secrets_seen.append(pem.get_secret_value().splitlines()[1])

    async with httpx.AsyncClient() as idp_http:
        components = build_auth(config, http_client=idp_http, clock=clock)
        transport = httpx.ASGITransport(app=make_app(components))
        with respx.mock(assert_all_called=True) as mock:
            route = mock.get(JWKS_URL).respond(json={"keys": [idp_key.as_dict(private=False)]})
            async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
                basic = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                        auth=("demo-storefront", "demo-storefront-secret"))
                post = await http.post("/oauth/token", data={
                    "grant_type": "client_credentials", "client_id": "demo-warehouse",
                    "client_secret": "demo-warehouse-secret"})
                refused = await http.post("/oauth/token",
                                          data={"grant_type": "client_credentials"},
                                          auth=("demo-storefront", "wrong-secret-value"))
                tokens = [basic.json()["access_token"], post.json()["access_token"]]
                external = sign({**own_claims(config, clock.now), "iss": "https://idp.example/",
                                 "aud": "gw"}, idp_key, alg="RS256", kid="idp", typ=None)
                tokens.append(external)
                expired = sign(own_claims(config, clock.now - 5000),
                               components.keyring.signing_key().key, alg="Ed25519",
                               kid="demo-ephemeral")
                tokens.append(expired)
                statuses = [
                    (await http.get("/v1/inventory", headers={"Authorization": f"Bearer {t}"}))
                    .status_code for t in tokens
                ]
                key_ok = await http.get("/v1/inventory",
                                        headers={"X-API-Key": "demo-storefront-key"})
                key_bad = await http.get("/v1/inventory",
                                         headers={"X-API-Key": "wrong-api-key-value"})
        await components.aclose()

    assert (basic.status_code, post.status_code, refused.status_code) == (200, 200, 401)
    assert statuses == [200, 403, 200, 401]
    assert (key_ok.status_code, key_bad.status_code) == (200, 401)
    assert route.called

    records = everything_at_debug.records
    # the run did log (authlib's client authentication, our issuance, httpx) …
    messages = " ".join(r.getMessage() for r in records)
    assert "issued access token to client demo-storefront" in messages
    assert "Authenticate demo-storefront" in messages
    assert any(r.name.startswith("httpx") for r in records)
    # … and nothing that would let a reader of the logs call the API
    secrets_seen += tokens + [t.split(".")[2] for t in tokens]
    for record in records:
        for text in _texts(record):
            for secret in secrets_seen:
                assert secret not in text, f"{record.name} logged a credential"
