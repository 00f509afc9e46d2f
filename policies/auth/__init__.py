"""Authentication and authorization: API keys, our OAuth2 client-credentials tokens, external
IdP tokens; ``require_scope`` for routes. A library: it knows nothing of the gateway."""

from policies.auth.attempts import FailedAttempts, client_address
from policies.auth.authenticator import Authenticator
from policies.auth.components import AuthComponents, build_auth
from policies.auth.config import (
    AuthConfig,
    ClientConfig,
    ExternalIssuerConfig,
    SigningKeyConfig,
    TokenAttemptsConfig,
    TokenConfig,
)
from policies.auth.demo import demo_auth_config
from policies.auth.endpoints import auth_routes, jwks_endpoint, token_endpoint
from policies.auth.hashing import hash_api_key, hash_secret, verify_secret
from policies.auth.jwks import JwksCache
from policies.auth.keys import KeyRing
from policies.auth.middleware import AuthGate, AuthMiddleware, current_principal, require_scope
from policies.auth.oauth import TokenServer
from policies.auth.types import SCOPES, AuthMethod, Principal, ScopeName

__all__ = [
    "SCOPES",
    "AuthComponents",
    "AuthConfig",
    "AuthMethod",
    "AuthGate",
    "AuthMiddleware",
    "Authenticator",
    "ClientConfig",
    "ExternalIssuerConfig",
    "FailedAttempts",
    "JwksCache",
    "KeyRing",
    "Principal",
    "ScopeName",
    "SigningKeyConfig",
    "TokenAttemptsConfig",
    "TokenConfig",
    "TokenServer",
    "auth_routes",
    "build_auth",
    "client_address",
    "current_principal",
    "demo_auth_config",
    "hash_api_key",
    "hash_secret",
    "jwks_endpoint",
    "require_scope",
    "token_endpoint",
    "verify_secret",
]
