"""Who is calling: an API key or a bearer JWT (ours or a trusted IdP's) becomes a Principal.

The hot path. An API key costs one SHA-256 and a dict lookup; a bearer token
seen before costs one SHA-256 and an LRU lookup until it expires. Failures
raise ``Unauthorized`` whose detail says what was wrong, never what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable

import httpx

from policies.auth.config import AuthConfig
from policies.auth.external import ExternalIssuer
from policies.auth.hashing import parse_api_key_hash
from policies.auth.jwks import JwksCache
from policies.auth.keys import KeyRing
from policies.auth.token_cache import VerifiedTokenCache
from policies.auth.tokens import OwnTokenVerifier
from policies.auth.types import Principal
from policies.auth.verify import TokenRejected, peek
from policies.problems import Unauthorized

REALM = "erp-gateway"
CHALLENGE = f'Bearer realm="{REALM}"'


def bearer_challenge(error: str, description: str) -> str:
    """An RFC 6750 challenge; quotes and backslashes cannot appear in the description."""
    safe = description.replace('"', "'").replace("\\", "/")
    return f'{CHALLENGE}, error="{error}", error_description="{safe}"'


class Authenticator:
    def __init__(self, config: AuthConfig, keyring: KeyRing, *,
                 http_client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time, token_cache_size: int = 4096) -> None:
        clients = {c.id: c for c in config.clients}
        self._api_keys: dict[bytes, tuple[bytes, Principal]] = {}
        for client in config.clients:
            principal = Principal(client.id, frozenset(client.scopes), client.plan,
                                  frozenset(client.versions), "api_key",
                                  warehouses=frozenset(client.warehouses) or None)
            for hashed in client.api_key_hashes:
                digest = parse_api_key_hash(hashed)
                self._api_keys[digest] = (digest, principal)
        self._own_issuer = config.token.issuer
        self._own = OwnTokenVerifier(keyring, config.token, clients, clock=clock)
        # one client per distinct proxy setting; a client handed in serves every issuer
        self._owned_http: dict[str | None, httpx.AsyncClient] = {}
        self._external: dict[str, ExternalIssuer] = {}
        for issuer in config.external_issuers:
            http = http_client or self._jwks_client(issuer.proxy)
            jwks = JwksCache(issuer.jwks_url, http, ttl_seconds=issuer.jwks_ttl_seconds,
                             min_refetch_seconds=issuer.jwks_min_refetch_seconds, clock=clock)
            self._external[issuer.issuer] = ExternalIssuer(issuer, jwks, clock=clock)
        self._cache = VerifiedTokenCache(token_cache_size)
        self._clock = clock

    def _jwks_client(self, proxy: str | None) -> httpx.AsyncClient:
        client = self._owned_http.get(proxy)
        if client is None:
            # proxies come from the issuer's config only, never from the environment
            client = self._owned_http[proxy] = httpx.AsyncClient(trust_env=False, proxy=proxy)
        return client

    async def aclose(self) -> None:
        """Close the HTTP clients this authenticator created."""
        for client in self._owned_http.values():
            await client.aclose()
        self._owned_http.clear()

    async def authenticate(self, headers: Iterable[tuple[bytes, bytes]]) -> Principal:
        """The caller named by raw ASGI headers; Unauthorized (401 problem) otherwise."""
        api_key: bytes | None = None
        authorization: bytes | None = None
        for name, value in headers:
            if name == b"x-api-key":
                if api_key is not None:
                    raise Unauthorized("send one credential: X-API-Key is repeated")
                api_key = value
            elif name == b"authorization":
                if authorization is not None:
                    raise Unauthorized("send one credential: Authorization is repeated")
                authorization = value
        # refused whichever is valid: two credentials make it unclear who is calling
        if api_key is not None:
            if authorization is not None:
                raise Unauthorized("send one credential: X-API-Key or Authorization, not both")
            return self.principal_for_api_key(api_key)
        if authorization is None:
            raise Unauthorized("credentials are missing: send X-API-Key or "
                               "Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() != b"bearer":
            raise Unauthorized("the Authorization scheme must be Bearer")
        token = token.strip()
        if not token:
            reason = "the bearer token is empty"
            raise Unauthorized(reason, challenge=bearer_challenge("invalid_request", reason))
        try:
            return await self.principal_for_token(token)
        except TokenRejected as exc:
            reason = str(exc)
            raise Unauthorized(f"bearer token rejected: {reason}",
                               challenge=bearer_challenge("invalid_token", reason)) from None

    def principal_for_api_key(self, api_key: bytes) -> Principal:
        digest = hashlib.sha256(api_key).digest()
        entry = self._api_keys.get(digest)
        if entry is None or not hmac.compare_digest(entry[0], digest):
            raise Unauthorized("the API key is not valid")
        return entry[1]

    async def principal_for_token(self, token: bytes) -> Principal:
        """Verify a bearer JWT (or find it verified in the cache); TokenRejected otherwise."""
        digest = hashlib.sha256(token).digest()
        cached = self._cache.get(digest, self._clock())
        if cached is not None:
            return cached
        try:
            text = token.decode("ascii")
        except UnicodeDecodeError:
            raise TokenRejected("token is not a well-formed JWT") from None
        unverified = peek(text)
        issuer = unverified.issuer
        if issuer == self._own_issuer:
            principal, expires_at = self._own.verify(text, unverified)
        elif issuer is not None and issuer in self._external:
            principal, expires_at = await self._external[issuer].verify(text, unverified)
        else:
            raise TokenRejected("token issuer is not trusted")
        self._cache.put(digest, principal, expires_at)
        return principal
