"""Tokens from an external IdP: JWKS fetched through respx, security list, refetch limits."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx
from joserfc.jwk import ECKey, Key, RSAKey

from policies.auth import AuthConfig, Authenticator, ExternalIssuerConfig, KeyRing
from policies.auth.jwks import parse_jwks
from policies.problems import Unauthorized
from tests.policies.auth.conftest import FakeClock, b64url, segment, sign

ISSUER = "https://idp.example/"
JWKS_URL = "https://idp.example/.well-known/jwks.json"
AUDIENCE = "erp-gateway-api"
DROP = object()  # an override that removes the claim


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "idp-rsa", "alg": "RS256", "use": "sig"})


@pytest.fixture(scope="module")
def ec_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "idp-ec", "use": "sig"})


@pytest.fixture
def jwks(rsa_key: RSAKey, ec_key: ECKey) -> dict[str, Any]:
    return {"keys": [rsa_key.as_dict(private=False), ec_key.as_dict(private=False),
                     {"kty": "oct", "k": b64url(b"a shared secret, never usable"),
                      "kid": "sym"}]}


@pytest.fixture
def external_config(demo_config: AuthConfig) -> AuthConfig:
    issuer = ExternalIssuerConfig(issuer=ISSUER, jwks_url=JWKS_URL, audience=AUDIENCE,
                                  plan="partner", versions=["v1"],
                                  allowed_scopes=["inventory:read", "prices:read"])
    return demo_config.model_copy(update={"external_issuers": [issuer]})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def authenticator(external_config: AuthConfig, http: httpx.AsyncClient,
                  clock: FakeClock) -> Authenticator:
    keyring = KeyRing.from_config(external_config.signing_keys, external_config.token,
                                  clock=clock)
    return Authenticator(external_config, keyring, http_client=http, clock=clock)


def _claims(now: float, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": "svc-account",
                              "azp": "partner-portal", "scope": "inventory:read openid",
                              "iat": int(now), "exp": int(now) + 600,
                              "jti": secrets.token_hex(8)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not DROP}


def _bearer(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


async def _rejected(authenticator: Authenticator, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await authenticator.authenticate(_bearer(token))
    return caught.value.detail.removeprefix("bearer token rejected: ")


def _rs256(key: Key, now: float, *, kid: str = "idp-rsa", **overrides: Any) -> str:
    return sign(_claims(now, **overrides), key, alg="RS256", kid=kid, typ="JWT")


async def test_rs256_token_from_the_idp_is_accepted(
        authenticator: Authenticator, rsa_key: RSAKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        principal = await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
    assert route.called
    assert principal.client_id == "partner-portal"
    assert principal.method == "external_jwt"
    # "openid" is not ours; the issuer may grant inventory:read
    assert principal.scopes == frozenset({"inventory:read"})
    assert principal.plan == "partner"
    assert principal.versions == frozenset({"v1"})


async def test_es256_token_and_list_scope_claim_are_accepted(
        authenticator: Authenticator, ec_key: ECKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    claims = _claims(clock.now, scope=["prices:read", "admin"])
    del claims["azp"]
    token = sign(claims, ec_key, alg="ES256", kid="idp-ec", typ=None)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        principal = await authenticator.authenticate(_bearer(token))
    assert route.call_count == 1
    # falls back to sub; "admin" is outside this issuer's allowed scopes
    assert principal.client_id == "svc-account"
    assert principal.scopes == frozenset({"prices:read"})


async def test_alg_none_and_hs256_with_the_public_key_are_refused_without_a_fetch(
        authenticator: Authenticator, rsa_key: RSAKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        assert route.call_count == 1

        none_token = f"{segment({'alg': 'none', 'kid': 'idp-rsa'})}.{segment(_claims(clock.now))}."
        assert await _rejected(authenticator, none_token) == "token algorithm is not allowed"

        public_pem = rsa_key.as_bytes(private=False)
        for kid in ("idp-rsa", "sym"):
            header = segment({"alg": "HS256", "kid": kid})
            signing_input = f"{header}.{segment(_claims(clock.now))}"
            mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
            confused = f"{signing_input}.{b64url(mac)}"
            assert await _rejected(authenticator, confused) == "token algorithm is not allowed"
        assert route.call_count == 1


async def test_algorithm_outside_the_allowlist_is_refused(
        demo_config: AuthConfig, http: httpx.AsyncClient, rsa_key: RSAKey,
        jwks: dict[str, Any], clock: FakeClock) -> None:
    issuer = ExternalIssuerConfig(issuer=ISSUER, jwks_url=JWKS_URL, audience=AUDIENCE,
                                  algorithms=["ES256"])
    config = demo_config.model_copy(update={"external_issuers": [issuer]})
    keyring = KeyRing.from_config(config.signing_keys, config.token, clock=clock)
    authenticator = Authenticator(config, keyring, http_client=http, clock=clock)
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        assert (await _rejected(authenticator, _rs256(rsa_key, clock.now))
                == "token algorithm is not allowed")
        # a token that names its key's algorithm wrongly is refused too
        ec_header_on_rsa_key = sign(_claims(clock.now), ECKey.generate_key("P-256"),
                                    alg="ES256", kid="idp-rsa", typ=None)
        assert (await _rejected(authenticator, ec_header_on_rsa_key)
                == "token algorithm does not match its key")
    assert route.call_count == 1


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"exp": -10_000}, "token has expired"),
    ({"nbf": 3_600}, "token is not valid yet"),
    ({"aud": "someone-else"}, "token audience is not this gateway"),
    ({"azp": DROP, "sub": DROP}, "token names no client (azp, client_id, sub)"),
    ({"exp": DROP}, "token lacks required claims: exp"),
])
async def test_claims_are_checked(authenticator: Authenticator, rsa_key: RSAKey,
                                  jwks: dict[str, Any], clock: FakeClock,
                                  overrides: dict[str, Any], reason: str) -> None:
    claims: dict[str, Any] = {k: (int(clock.now) + v if isinstance(v, int) else v)
              for k, v in overrides.items()}
    token = _rs256(rsa_key, clock.now, **claims)
    with respx.mock(assert_all_called=True) as mock:
        mock.get(JWKS_URL).respond(json=jwks)
        assert await _rejected(authenticator, token) == reason


async def test_tampered_external_token_is_refused(authenticator: Authenticator,
                                                  rsa_key: RSAKey, jwks: dict[str, Any],
                                                  clock: FakeClock) -> None:
    header, _, signature = _rs256(rsa_key, clock.now).split(".")
    forged = f"{header}.{segment(_claims(clock.now, azp='demo-admin'))}.{signature}"
    with respx.mock(assert_all_called=True) as mock:
        mock.get(JWKS_URL).respond(json=jwks)
        assert await _rejected(authenticator, forged) == "token signature is invalid"


async def test_unknown_kid_flood_fetches_jwks_at_most_once_per_interval(
        authenticator: Authenticator, rsa_key: RSAKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    def random_kid_token() -> str:
        return _rs256(rsa_key, clock.now, kid=secrets.token_hex(8))

    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        flood = [authenticator.authenticate(_bearer(random_kid_token())) for _ in range(50)]
        results = await asyncio.gather(*flood, return_exceptions=True)
        assert all(isinstance(r, Unauthorized) for r in results)
        assert route.call_count == 1
        for _ in range(20):
            assert (await _rejected(authenticator, random_kid_token())
                    == "token is signed by an unknown key")
        assert route.call_count == 1

        clock.advance(29)
        await _rejected(authenticator, random_kid_token())
        assert route.call_count == 1

        clock.advance(1)  # jwks_min_refetch_seconds (30) have passed
        for _ in range(20):
            await _rejected(authenticator, random_kid_token())
        assert route.call_count == 2

        # a good token still needs no fetch
        await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        assert route.call_count == 2


async def test_concurrent_first_requests_share_one_fetch_and_all_succeed(
        authenticator: Authenticator, rsa_key: RSAKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL).respond(json=jwks)
        tokens = [_rs256(rsa_key, clock.now) for _ in range(20)]
        principals = await asyncio.gather(
            *(authenticator.authenticate(_bearer(t)) for t in tokens))
    assert {p.client_id for p in principals} == {"partner-portal"}
    assert route.call_count == 1


async def test_new_idp_key_is_picked_up_by_the_unknown_kid_refetch(
        authenticator: Authenticator, rsa_key: RSAKey, ec_key: ECKey,
        clock: FakeClock) -> None:
    rotated = RSAKey.generate_key(2048, parameters={"kid": "idp-rsa-2", "alg": "RS256"})
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL)
        route.side_effect = [
            httpx.Response(200, json={"keys": [rsa_key.as_dict(private=False)]}),
            httpx.Response(200, json={"keys": [rsa_key.as_dict(private=False),
                                               rotated.as_dict(private=False)]}),
        ]
        await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        clock.advance(30)
        principal = await authenticator.authenticate(
            _bearer(_rs256(rotated, clock.now, kid="idp-rsa-2")))
    assert principal.client_id == "partner-portal"
    assert route.call_count == 2


async def test_ttl_expiry_refetches_and_an_idp_outage_keeps_the_cached_keys(
        authenticator: Authenticator, rsa_key: RSAKey, jwks: dict[str, Any],
        clock: FakeClock) -> None:
    with respx.mock(assert_all_called=True) as mock:
        route = mock.get(JWKS_URL)
        route.side_effect = [httpx.Response(200, json=jwks), httpx.Response(503),
                             httpx.ConnectError("down")]
        await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        clock.advance(300)  # jwks_ttl_seconds
        principal = await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        assert principal.client_id == "partner-portal"
        assert route.call_count == 2
        clock.advance(30)
        await authenticator.authenticate(_bearer(_rs256(rsa_key, clock.now)))
        assert route.call_count == 3


def test_parse_jwks_skips_symmetric_encryption_and_malformed_keys(
        jwks: dict[str, Any], rsa_key: RSAKey) -> None:
    document = dict(jwks)
    document["keys"] = [*jwks["keys"], {"kty": "RSA", "kid": "broken"},
                        {**rsa_key.as_dict(private=False), "kid": "enc", "use": "enc"}, "junk"]
    assert sorted(parse_jwks(document)) == ["idp-ec", "idp-rsa"]
    assert parse_jwks({"keys": "nope"}) == {}
    assert parse_jwks(["not", "a", "set"]) == {}
