"""Security list for our own access tokens, driven through the middleware."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from joserfc.jwk import OKPKey
from pydantic import SecretStr

from policies.auth import AuthComponents, AuthConfig, SigningKeyConfig, build_auth
from policies.auth.keys import generate_ed25519_pem
from policies.auth.tokens import OwnTokenVerifier
from tests.policies.auth.conftest import (
    BASE_URL,
    FakeClock,
    b64url,
    fetch_token,
    make_app,
    own_claims,
    segment,
    sign,
)

KID = "demo-ephemeral"


async def _call(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.get("/v1/inventory", headers={"Authorization": f"Bearer {token}"})


def _signing_key(components: AuthComponents) -> OKPKey:
    key = components.keyring.signing_key().key
    assert isinstance(key, OKPKey)
    return key


def _assert_rejected(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == f"bearer token rejected: {reason}"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="erp-gateway", error="invalid_token"')
    assert f'error_description="{reason}"' in challenge


async def test_well_formed_token_is_accepted(client: httpx.AsyncClient,
                                             demo_components: AuthComponents,
                                             demo_config: AuthConfig, clock: FakeClock) -> None:
    token = sign(own_claims(demo_config, clock.now), _signing_key(demo_components),
                 alg="Ed25519", kid=KID)
    assert (await _call(client, token)).status_code == 200


async def test_alg_none_is_refused(client: httpx.AsyncClient, demo_config: AuthConfig,
                                   clock: FakeClock) -> None:
    header = {"alg": "none", "kid": KID, "typ": "at+jwt"}
    token = f"{segment(header)}.{segment(own_claims(demo_config, clock.now))}."
    _assert_rejected(await _call(client, token), "token algorithm is not allowed")


async def test_hs256_signed_with_the_public_key_is_refused(
        client: httpx.AsyncClient, demo_components: AuthComponents,
        demo_config: AuthConfig, clock: FakeClock) -> None:
    public = _signing_key(demo_components).as_bytes(private=False)
    jwks_json = (await client.get("/.well-known/jwks.json")).content
    for secret in (public, jwks_json):
        header = {"alg": "HS256", "kid": KID, "typ": "at+jwt"}
        signing_input = f"{segment(header)}.{segment(own_claims(demo_config, clock.now))}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64url(mac)}"
        _assert_rejected(await _call(client, token), "token algorithm is not allowed")


async def test_expired_token_is_refused(client: httpx.AsyncClient,
                                        demo_components: AuthComponents,
                                        demo_config: AuthConfig, clock: FakeClock) -> None:
    # beyond the 30 s leeway
    claims = own_claims(demo_config, clock.now - 1000, lifetime=900)
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token has expired")


async def test_not_yet_valid_token_is_refused(client: httpx.AsyncClient,
                                              demo_components: AuthComponents,
                                              demo_config: AuthConfig,
                                              clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now, nbf=int(clock.now) + 120)
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token is not valid yet")


async def test_small_clock_skew_is_tolerated(client: httpx.AsyncClient,
                                             demo_components: AuthComponents,
                                             demo_config: AuthConfig, clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now + 10)
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    assert (await _call(client, token)).status_code == 200


async def test_wrong_audience_is_refused(client: httpx.AsyncClient,
                                         demo_components: AuthComponents,
                                         demo_config: AuthConfig, clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now, aud="another-api")
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token audience is not this gateway")


async def test_untrusted_issuer_is_refused(client: httpx.AsyncClient,
                                           demo_components: AuthComponents,
                                           demo_config: AuthConfig, clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now, iss="https://evil.example")
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token issuer is not trusted")


async def test_missing_required_claim_is_refused(client: httpx.AsyncClient,
                                                 demo_components: AuthComponents,
                                                 demo_config: AuthConfig,
                                                 clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now)
    del claims["jti"]
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token lacks required claims: jti")


async def test_id_token_typ_is_not_an_access_token(client: httpx.AsyncClient,
                                                   demo_components: AuthComponents,
                                                   demo_config: AuthConfig,
                                                   clock: FakeClock) -> None:
    token = sign(own_claims(demo_config, clock.now), _signing_key(demo_components),
                 alg="Ed25519", kid=KID, typ="JWT")
    _assert_rejected(await _call(client, token), "token is not an access token")


async def test_tampered_payload_is_refused(client: httpx.AsyncClient,
                                           demo_components: AuthComponents,
                                           demo_config: AuthConfig, clock: FakeClock) -> None:
    token = sign(own_claims(demo_config, clock.now), _signing_key(demo_components),
                 alg="Ed25519", kid=KID)
    header, _, signature = token.split(".")
    escalated = own_claims(demo_config, clock.now, scope="inventory:read admin")
    forged = f"{header}.{segment(escalated)}.{signature}"
    _assert_rejected(await _call(client, forged), "token signature is invalid")


async def test_token_signed_by_an_unknown_key_is_refused(client: httpx.AsyncClient,
                                                         demo_config: AuthConfig,
                                                         clock: FakeClock) -> None:
    stranger = OKPKey.generate_key("Ed25519")
    claims = own_claims(demo_config, clock.now)
    # same kid as ours: the signature gives it away
    same_kid = sign(claims, stranger, alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, same_kid), "token signature is invalid")
    other_kid = sign(claims, stranger, alg="Ed25519", kid="not-ours")
    _assert_rejected(await _call(client, other_kid), "token is signed by an unknown key")
    no_kid = sign(claims, stranger, alg="Ed25519", kid=None)
    _assert_rejected(await _call(client, no_kid), "token is signed by an unknown key")


async def test_token_of_a_client_no_longer_configured_is_refused(
        client: httpx.AsyncClient, demo_components: AuthComponents, demo_config: AuthConfig,
        clock: FakeClock) -> None:
    claims = own_claims(demo_config, clock.now, client_id="demo-gone")
    token = sign(claims, _signing_key(demo_components), alg="Ed25519", kid=KID)
    _assert_rejected(await _call(client, token), "token's client is not configured")


async def test_verified_token_is_cached_until_it_expires(
        client: httpx.AsyncClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    token = (await fetch_token(client)).json()["access_token"]
    calls = 0
    original = OwnTokenVerifier.verify

    def counting(self: OwnTokenVerifier, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(self, *args)

    monkeypatch.setattr(OwnTokenVerifier, "verify", counting)
    for _ in range(5):
        assert (await _call(client, token)).status_code == 200
    assert calls == 1

    # past exp (and the leeway) the cache must not vouch for it any more
    clock.advance(900 + 31)
    _assert_rejected(await _call(client, token), "token has expired")
    assert calls == 2


def _rotation_config(base: AuthConfig, retire_at: float) -> AuthConfig:
    # written as config files may still say it: "EdDSA"
    old = SigningKeyConfig.model_validate({
        "kid": "k-old", "algorithm": "EdDSA", "private_key_pem": generate_ed25519_pem(),
        "not_after": datetime.fromtimestamp(retire_at, UTC)})
    new = SigningKeyConfig(kid="k-new", algorithm="Ed25519",
                           private_key_pem=SecretStr(generate_ed25519_pem()))
    return base.model_copy(update={"signing_keys": [old, new]})


async def test_rotated_out_key_stays_published_and_valid_until_its_tokens_expire(
        demo_config: AuthConfig) -> None:
    clock = FakeClock()
    components = build_auth(_rotation_config(demo_config, clock.now + 60), clock=clock)
    transport = httpx.ASGITransport(app=make_app(components))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        jwks = (await http.get("/.well-known/jwks.json")).json()
        # the next key is published before it signs
        assert [k["kid"] for k in jwks["keys"]] == ["k-old", "k-new"]
        old_token = (await fetch_token(http)).json()["access_token"]
        assert components.keyring.signing_key().kid == "k-old"

        clock.advance(120)  # k-old retired from signing
        assert components.keyring.signing_key().kid == "k-new"
        new_token = (await fetch_token(http)).json()["access_token"]
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in jwks["keys"]] == ["k-old", "k-new"]
        assert (await _call(http, old_token)).status_code == 200
        assert (await _call(http, new_token)).status_code == 200

        # a token k-old "signed" after its retirement is a forgery or a leak
        late = own_claims(components.config, clock.now)
        old_key = components.keyring.verification_key("k-old")
        assert old_key is not None
        late_token = sign(late, old_key.key, alg="Ed25519", kid="k-old")
        _assert_rejected(await _call(http, late_token), "token was signed by a retired key")

        clock.advance(900 + 30)  # every k-old token has expired: it leaves the JWKS
        jwks = (await http.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in jwks["keys"]] == ["k-new"]
        assert components.keyring.verification_key("k-old") is None


async def test_jwks_publishes_public_keys_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public")
    (key,) = response.json()["keys"]
    assert key == {"kty": "OKP", "crv": "Ed25519", "x": key["x"], "kid": KID,
                   "alg": "Ed25519", "use": "sig"}
    assert "d" not in key
