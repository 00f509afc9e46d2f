"""Our access tokens (RFC 9068 JWT profile): issued by /oauth/token, verified on every request."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from joserfc import jwt

from policies.auth.config import ClientConfig, TokenConfig
from policies.auth.keys import KeyRing
from policies.auth.types import Principal
from policies.auth.verify import (
    TokenRejected,
    UnverifiedJwt,
    claims_registry,
    registry_for,
    scope_set,
    verify_jwt,
)

ACCESS_TOKEN_TYPE = "at+jwt"
_REQUIRED_CLAIMS = ("sub", "client_id", "iat", "nbf", "jti")


@dataclass(frozen=True, slots=True, repr=False)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def __repr__(self) -> str:
        return f"IssuedToken(expires_in={self.expires_in}, scope={self.scope!r})"


class TokenIssuer:
    def __init__(self, keyring: KeyRing, config: TokenConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._keyring = keyring
        self._config = config
        self._clock = clock

    def issue(self, client_id: str, scopes: Iterable[str]) -> IssuedToken:
        """Sign an access token for ``client_id`` with the active key."""
        key = self._keyring.signing_key()
        now = int(self._clock())
        lifetime = self._config.lifetime_seconds
        scope = " ".join(sorted(set(scopes)))
        claims = {
            "iss": self._config.issuer, "aud": self._config.audience,
            "sub": client_id, "client_id": client_id, "scope": scope,
            "iat": now, "nbf": now, "exp": now + lifetime, "jti": secrets.token_urlsafe(16),
        }
        header = {"alg": key.algorithm, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
        token = jwt.encode(header, claims, key.key, algorithms=[key.algorithm])
        return IssuedToken(token, lifetime, scope)


class OwnTokenVerifier:
    def __init__(self, keyring: KeyRing, config: TokenConfig, clients: Mapping[str, ClientConfig],
                 *, clock: Callable[[], float] = time.time) -> None:
        self._keyring = keyring
        self._clients = clients
        self._leeway = config.leeway_seconds
        self._registries = {alg: registry_for([alg]) for alg in ("Ed25519", "ES256", "RS256")}
        self._claims = claims_registry(issuer=config.issuer, audience=config.audience,
                                       leeway=config.leeway_seconds,
                                       now=lambda: int(clock()), required=_REQUIRED_CLAIMS)

    def verify(self, token: str, unverified: UnverifiedJwt) -> tuple[Principal, float]:
        """The caller and the token's expiry; TokenRejected when anything is off."""
        kid = unverified.kid
        key = self._keyring.verification_key(kid) if kid else None
        if key is None:
            raise TokenRejected("token is signed by an unknown key")
        if unverified.header.get("typ") != ACCESS_TOKEN_TYPE:
            raise TokenRejected("token is not an access token")
        # the key's own algorithm only: a header naming another (none, HS256 …) is refused
        if unverified.header.get("alg") != key.algorithm:
            raise TokenRejected("token algorithm is not allowed")
        claims = verify_jwt(token, key.key, self._registries[key.algorithm], self._claims)
        client_id = claims["client_id"]
        if not isinstance(client_id, str) or claims["sub"] != client_id:
            raise TokenRejected("token subject and client_id differ")
        if key.not_after is not None and claims["iat"] > key.not_after + self._leeway:
            raise TokenRejected("token was signed by a retired key")
        client = self._clients.get(client_id)
        if client is None:
            raise TokenRejected("token's client is not configured")
        # a client whose scopes were cut loses them at once, not when its tokens expire
        scopes = scope_set(claims.get("scope")) & frozenset(client.scopes)
        principal = Principal(client_id, scopes, client.plan, frozenset(client.versions), "jwt",
                              warehouses=frozenset(client.warehouses) or None)
        return principal, float(claims["exp"])
