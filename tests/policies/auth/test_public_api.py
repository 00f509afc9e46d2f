from __future__ import annotations

import policies.auth
from policies.auth.token_cache import VerifiedTokenCache
from policies.auth.types import Principal


def test_public_surface_is_pinned() -> None:
    assert sorted(policies.auth.__all__) == sorted([
        "SCOPES", "AuthComponents", "AuthConfig", "AuthGate", "AuthMethod", "AuthMiddleware",
        "Authenticator", "ClientConfig", "ExternalIssuerConfig", "FailedAttempts", "JwksCache",
        "KeyRing", "Principal", "ScopeName", "SigningKeyConfig", "TokenAttemptsConfig",
        "TokenConfig", "TokenServer", "auth_routes", "build_auth", "client_address",
        "current_principal", "demo_auth_config", "hash_api_key", "hash_secret",
        "jwks_endpoint", "require_scope", "token_endpoint", "verify_secret",
    ])
    for name in policies.auth.__all__:
        assert hasattr(policies.auth, name)


def test_scopes_are_the_documented_eight() -> None:
    assert policies.auth.SCOPES == {"inventory:read", "prices:read", "shipping:rate",
                                    "labels:write", "tracking:read", "orders:read",
                                    "orders:write", "admin"}


def test_verified_token_cache_is_a_bounded_lru_that_honours_expiry() -> None:
    cache = VerifiedTokenCache(maxsize=2)
    p = Principal("c", frozenset(), "default", frozenset(), "jwt")
    cache.put(b"a", p, expires_at=100)
    cache.put(b"b", p, expires_at=100)
    assert cache.get(b"a", now=50) is p  # "a" is now the most recent
    cache.put(b"c", p, expires_at=100)  # evicts "b"
    assert cache.get(b"b", now=50) is None
    assert cache.get(b"a", now=50) is p
    assert cache.get(b"a", now=100) is None  # expired entries are dropped
    assert len(cache) == 1


def test_principal_versions_empty_means_all() -> None:
    everyone = Principal("c", frozenset(), "default", frozenset(), "api_key")
    pinned = Principal("c", frozenset(), "default", frozenset({"v1"}), "api_key")
    assert everyone.allows_version("v2")
    assert pinned.allows_version("v1") and not pinned.allows_version("v2")
