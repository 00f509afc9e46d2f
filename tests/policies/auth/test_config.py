from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr, ValidationError

from policies.auth import (
    AuthConfig,
    ClientConfig,
    ExternalIssuerConfig,
    KeyRing,
    SigningKeyConfig,
    TokenConfig,
    hash_api_key,
    hash_secret,
)
from policies.auth.keys import generate_ed25519_pem, load_signing_key

SECRET_HASH = hash_secret("x", n=2**10)


def _key(**overrides: Any) -> SigningKeyConfig:
    fields: dict[str, Any] = {"kid": "k1", "algorithm": "Ed25519",
                              "private_key_pem": SecretStr(generate_ed25519_pem())}
    fields.update(overrides)
    return SigningKeyConfig(**fields)


def _auth(**overrides: Any) -> AuthConfig:
    fields: dict[str, Any] = {"token": TokenConfig(issuer="iss", audience="aud"),
                              "signing_keys": [_key()]}
    fields.update(overrides)
    return AuthConfig(**fields)


def _external(**overrides: Any) -> ExternalIssuerConfig:
    fields: dict[str, Any] = {"issuer": "https://idp", "audience": "a",
                              "jwks_url": "https://idp/jwks"}
    fields.update(overrides)
    return ExternalIssuerConfig(**fields)


def test_defaults_match_the_design() -> None:
    config = _auth()
    assert config.token.lifetime_seconds == 900
    assert "/oauth/token" in config.public_paths
    issuer = _external()
    assert issuer.algorithms == ["RS256", "ES256"]
    assert (issuer.jwks_ttl_seconds, issuer.jwks_min_refetch_seconds) == (300, 30)
    assert issuer.client_id_claims == ["azp", "client_id", "sub"]


@pytest.mark.parametrize("algorithms", [["none"], ["HS256"], ["RS256", "HS512"], []])
def test_external_allowlist_refuses_none_symmetric_and_empty(algorithms: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        _external(algorithms=algorithms)
    assert caught.value.errors()[0]["loc"] == ("algorithms",)


def test_external_jwks_url_must_be_https() -> None:
    with pytest.raises(ValidationError):
        _external(jwks_url="http://idp.example/jwks")
    assert _external(jwks_url="http://127.0.0.1:9000/jwks").jwks_url.startswith("http://")


def test_unknown_fields_and_scopes_fail_with_the_field_path() -> None:
    with pytest.raises(ValidationError) as caught:
        ClientConfig(id="c", secret_hash=SECRET_HASH,
                     scopes=["inventory:write"])  # type: ignore[list-item]
    assert caught.value.errors()[0]["loc"] == ("scopes", 0)
    with pytest.raises(ValidationError):
        ClientConfig(id="c", secret_hash=SECRET_HASH, scopes=[], colour="red")  # type: ignore[call-arg]


def test_client_needs_a_credential_and_well_formed_hashes() -> None:
    with pytest.raises(ValidationError, match="secret_hash or api_key_hashes"):
        ClientConfig(id="c", scopes=[])
    with pytest.raises(ValidationError, match="sha256"):
        ClientConfig(id="c", api_key_hashes=["md5$abc"], scopes=[])
    with pytest.raises(ValidationError, match="scrypt") as caught:
        ClientConfig(id="c", secret_hash="pasted-plaintext-secret", scopes=[])
    assert "pasted-plaintext-secret" not in str(caught.value)


def test_hashes_stay_out_of_reprs_and_errors() -> None:
    client = ClientConfig(id="c", secret_hash=SECRET_HASH,
                          api_key_hashes=[hash_api_key("k")], scopes=["admin"])
    assert SECRET_HASH not in repr(client)
    assert hash_api_key("k") not in repr(client)
    duplicate = client.model_copy(update={"id": "d"})
    with pytest.raises(ValidationError) as caught:
        _auth(clients=[client, duplicate])
    assert hash_api_key("k") not in str(caught.value)
    assert "'c' and 'd'" in str(caught.value)


def test_private_key_stays_out_of_reprs() -> None:
    pem = generate_ed25519_pem()
    key = _key(private_key_pem=SecretStr(pem))
    body = pem.splitlines()[1]
    assert body not in repr(key)
    assert body not in repr(load_signing_key(key))


def test_duplicates_are_refused() -> None:
    client = ClientConfig(id="c", secret_hash=SECRET_HASH, scopes=[])
    with pytest.raises(ValidationError, match="duplicate client id 'c'"):
        _auth(clients=[client, client])
    with pytest.raises(ValidationError, match="duplicate signing key kid 'k1'"):
        _auth(signing_keys=[_key(), _key()])
    with pytest.raises(ValidationError, match="own token issuer"):
        _auth(external_issuers=[_external(issuer="iss")])


def test_eddsa_is_read_as_the_fully_specified_ed25519() -> None:
    assert _key(algorithm="EdDSA").algorithm == "Ed25519"


def test_signing_key_needs_exactly_one_source(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        _key(private_key_pem=None)
    path = tmp_path / "k.pem"
    path.write_text(generate_ed25519_pem())
    with pytest.raises(ValidationError, match="exactly one"):
        _key(private_key_path=path)
    loaded = load_signing_key(_key(private_key_pem=None, private_key_path=path))
    assert loaded.kid == "k1"


def test_key_that_does_not_fit_its_algorithm_is_refused(tmp_path: Path) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with pytest.raises(ValueError, match="'k1': ES256 needs curve P-256"):
        load_signing_key(_key(algorithm="ES256", private_key_pem=SecretStr(p384)))
    with pytest.raises(ValueError, match="'k1': not an RS256 private key") as caught:
        load_signing_key(_key(algorithm="RS256"))
    assert "PRIVATE KEY-----\n" not in str(caught.value)
    with pytest.raises(ValueError, match="cannot read key file"):
        load_signing_key(_key(private_key_pem=None, private_key_path=tmp_path / "missing"))


def test_keyring_refuses_to_start_without_an_active_key() -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    config = _auth(signing_keys=[_key(not_after=past)])
    with pytest.raises(RuntimeError, match="past its not_after"):
        KeyRing.from_config(config.signing_keys, config.token)
