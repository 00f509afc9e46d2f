"""Credentials of the embedded demo: well known, so only ever for a loopback demo."""

from __future__ import annotations

from pydantic import SecretStr

from policies.auth.config import AuthConfig, ClientConfig, SigningKeyConfig, TokenConfig
from policies.auth.hashing import hash_api_key, hash_secret
from policies.auth.keys import generate_ed25519_pem
from policies.auth.types import ALL_SCOPES, ScopeName

DEMO_ISSUER = "urn:erp-gateway:demo"
DEMO_AUDIENCE = "erp-gateway"

# client id -> scopes; its API key is "<id>-key" and its secret "<id>-secret"
DEMO_CLIENTS: dict[str, tuple[ScopeName, ...]] = {
    "demo-storefront": ("inventory:read", "prices:read", "orders:read", "orders:write"),
    "demo-warehouse": ("shipping:rate", "labels:write", "tracking:read"),
    "demo-admin": ALL_SCOPES,
}


def demo_auth_config(*, issuer: str = DEMO_ISSUER, audience: str = DEMO_AUDIENCE) -> AuthConfig:
    """Demo clients (hashed like any others) and an ephemeral Ed25519 signing key."""
    clients = [
        ClientConfig(id=client_id, secret_hash=hash_secret(f"{client_id}-secret"),
                     api_key_hashes=[hash_api_key(f"{client_id}-key")], scopes=list(scopes))
        for client_id, scopes in DEMO_CLIENTS.items()
    ]
    key = SigningKeyConfig(kid="demo-ephemeral", algorithm="Ed25519",
                           private_key_pem=SecretStr(generate_ed25519_pem()))
    # the demo may sit on plain http behind a container port mapping
    token = TokenConfig(issuer=issuer, audience=audience, require_https=False)
    return AuthConfig(clients=clients, token=token, signing_keys=[key])
