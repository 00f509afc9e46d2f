"""Everything the gateway wires, built from one ``AuthConfig``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from starlette.routing import Route

from policies.auth.attempts import FailedAttempts
from policies.auth.authenticator import Authenticator
from policies.auth.config import AuthConfig
from policies.auth.endpoints import Endpoint, auth_routes, jwks_endpoint, token_endpoint
from policies.auth.keys import KeyRing
from policies.auth.oauth import TokenServer
from policies.ratelimit.redis_store import RedisClient, RedisCounters


@dataclass(frozen=True, slots=True)
class AuthComponents:
    config: AuthConfig
    keyring: KeyRing
    authenticator: Authenticator
    token_server: TokenServer

    @property
    def token_endpoint(self) -> Endpoint:
        """``POST /oauth/token`` as a Starlette endpoint."""
        return token_endpoint(self.token_server)

    @property
    def jwks_endpoint(self) -> Endpoint:
        """``GET /.well-known/jwks.json`` as a Starlette endpoint."""
        return jwks_endpoint(self.keyring)

    def routes(self) -> list[Route]:
        """``POST /oauth/token`` and ``GET /.well-known/jwks.json``."""
        return auth_routes(self.token_server, self.keyring)

    async def aclose(self) -> None:
        await self.authenticator.aclose()


def build_auth(config: AuthConfig, *, http_client: httpx.AsyncClient | None = None,
               clock: Callable[[], float] = time.time,
               redis: RedisClient | None = None) -> AuthComponents:
    """Load the signing keys (ValueError naming the kid if one is unusable) and build the rest.

    With ``redis``, failed token attempts are counted there (shared by replicas).
    """
    keyring = KeyRing.from_config(config.signing_keys, config.token, clock=clock)
    authenticator = Authenticator(config, keyring, http_client=http_client, clock=clock)
    counters = None
    if redis is not None:
        counters = RedisCounters(redis, key_prefix=config.token_attempts.key_prefix,
                                 deadline=config.token_attempts.redis_deadline_seconds)
    attempts = FailedAttempts(config.token_attempts, counters)
    server = TokenServer(config, keyring, clock=clock, attempts=attempts)
    return AuthComponents(config, keyring, authenticator, server)
