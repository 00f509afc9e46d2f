"""A gateway with several warehouse clients and one external IdP, for hostile-client tests."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from joserfc import jwt
from joserfc.jwk import ECKey
from pydantic import SecretStr

from gateway.demo import demo_shipping
from gateway.settings import Settings, default_rate_limits
from policies.auth import AuthConfig, ClientConfig, ExternalIssuerConfig, hash_api_key
from policies.auth.config import SigningKeyConfig, TokenConfig
from policies.auth.keys import generate_ed25519_pem
from policies.ratelimit import PlanConfig

IDP = "https://idp.example/"
IDP_JWKS = "https://idp.example/jwks"
IDP_AUDIENCE = "gateway-api"
LABEL_SCOPES: list[Any] = ["shipping:rate", "labels:write", "tracking:read"]

# client id -> (warehouses, scopes); each one's API key is "<id>-key"
CLIENTS: dict[str, tuple[list[str], list[Any]]] = {
    "wms-a": ([], [*LABEL_SCOPES, "inventory:read"]),
    "wms-b": ([], LABEL_SCOPES),
    "east-1": (["WH-EAST"], LABEL_SCOPES),
    "east-2": (["WH-EAST", "WH-CENTRAL"], LABEL_SCOPES),
    "ops": ([], [*LABEL_SCOPES, "admin"]),
}


def key_of(client_id: str) -> dict[str, str]:
    return {"X-API-Key": f"{client_id}-key"}


@pytest.fixture(scope="session")
def idp_key() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "idp-1", "alg": "ES256", "use": "sig"})


def auth_config() -> AuthConfig:
    clients = [ClientConfig(id=cid, api_key_hashes=[hash_api_key(f"{cid}-key")],
                            scopes=scopes, warehouses=warehouses, plan="tight")
               for cid, (warehouses, scopes) in CLIENTS.items()]
    issuer = ExternalIssuerConfig(issuer=IDP, jwks_url=IDP_JWKS, audience=IDP_AUDIENCE,
                                  algorithms=["ES256"], plan="tight")
    return AuthConfig(
        clients=clients, external_issuers=[issuer],
        token=TokenConfig(issuer="https://gateway.test", audience="erp-gateway"),
        signing_keys=[SigningKeyConfig(kid="k1", algorithm="Ed25519",
                                       private_key_pem=SecretStr(generate_ed25519_pem()))])


def tight_rate_limits() -> Any:
    base = default_rate_limits()
    plans = {**base.plans, "tight": PlanConfig(limits={"inventory": "3/minute"})}
    return base.model_copy(update={"plans": plans})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(demo=True, auth=auth_config(), ratelimit=tight_rate_limits(),
                    shipping=demo_shipping(tmp_path / "labels.sqlite3"))


@pytest.fixture
def idp(idp_key: ECKey) -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(IDP_JWKS).respond(json={"keys": [idp_key.as_dict(private=False)]})
        yield router


def idp_token(key: ECKey, **claims: Any) -> dict[str, str]:
    """An Authorization header with an IdP token; ``claims`` override the defaults."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": IDP, "aud": IDP_AUDIENCE, "sub": "partner", "iat": now,
                            "exp": now + 600, "jti": secrets.token_hex(8),
                            "scope": " ".join([*LABEL_SCOPES, "inventory:read"])}
    body.update(claims)
    token = jwt.encode({"alg": "ES256", "kid": "idp-1", "typ": "JWT"}, body, key,
                       algorithms=["ES256"])
    return {"Authorization": f"Bearer {token}"}

