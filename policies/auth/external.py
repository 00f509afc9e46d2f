"""Tokens from a trusted external IdP: keys from its JWKS, algorithm allowlist, claims checked."""

from __future__ import annotations

import time
from collections.abc import Callable

from policies.auth.config import ExternalIssuerConfig
from policies.auth.jwks import JwksCache
from policies.auth.types import Principal
from policies.auth.verify import (
    TokenRejected,
    UnverifiedJwt,
    claims_registry,
    registry_for,
    scope_set,
    verify_jwt,
)


class ExternalIssuer:
    def __init__(self, config: ExternalIssuerConfig, jwks: JwksCache, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuer = config.issuer
        self._config = config
        self._jwks = jwks
        self._algorithms = frozenset(config.algorithms)
        self._allowed_scopes = frozenset(config.allowed_scopes)
        self._versions = frozenset(config.versions)
        self._warehouses = frozenset(config.warehouses) or None
        # IdPs add their own header fields; "crit" is still enforced
        self._registry = registry_for(config.algorithms, strict_header=False)
        self._claims = claims_registry(issuer=config.issuer, audience=config.audience,
                                       leeway=config.leeway_seconds,
                                       now=lambda: int(clock()), required=())

    async def verify(self, token: str, unverified: UnverifiedJwt) -> tuple[Principal, float]:
        """The caller and the token's expiry; TokenRejected when anything is off."""
        alg = unverified.header.get("alg")
        # refuse before any JWKS fetch: "none", HS256 … never cost a request to the IdP
        if alg not in self._algorithms:
            raise TokenRejected("token algorithm is not allowed")
        key = await self._jwks.get(unverified.kid)
        if key is None:
            raise TokenRejected("token is signed by an unknown key")
        if key.alg is not None and key.alg != alg:
            raise TokenRejected("token algorithm does not match its key")
        claims = verify_jwt(token, key, self._registry, self._claims)
        client_id = next((claims[name] for name in self._config.client_id_claims
                          if isinstance(claims.get(name), str) and claims[name]), None)
        if client_id is None:
            raise TokenRejected("token names no client (" +
                                ", ".join(self._config.client_id_claims) + ")")
        scopes = scope_set(claims.get(self._config.scope_claim)) & self._allowed_scopes
        # qualified by the issuer: a "sub" equal to one of our client ids is not that client
        principal = Principal(client_id, scopes, self._config.plan, self._versions,
                              "external_jwt", issuer=self.issuer,
                              warehouses=self._warehouses)
        return principal, float(claims["exp"])
