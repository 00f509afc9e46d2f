"""authlib's AuthorizationServer with the client-credentials grant, fitted to our config.

authlib is synchronous and reads the form through properties, so the endpoint
reads the body asynchronously first and hands over a ``FormRequest``; the server
then runs in a worker thread (scrypt must not block the event loop), at most
``token_attempts.max_concurrent_checks`` at once. ``hashlib.scrypt`` releases the GIL
(OpenSSL's ``EVP_PBE_scrypt`` runs between ``Py_BEGIN/END_ALLOW_THREADS``), so the
event loop keeps serving while a secret is checked. Before any of that, a client id or
source address over its failed-attempt limit is refused with a 429
(``policies.auth.attempts``). authlib's own ``ClientCredentialsGrant.create_token_response``
logs the token at DEBUG, so the grant below replaces it with one that never logs the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import anyio
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.responses import Response

from policies.auth.attempts import FailedAttempts
from policies.auth.config import AuthConfig, ClientConfig
from policies.auth.hashing import (
    DEFAULT_N,
    DEFAULT_P,
    DEFAULT_R,
    HASH_BYTES,
    SALT_BYTES,
    SCRYPT_PREFIX,
    b64,
    parse_scrypt_hash,
    verify_secret,
)
from policies.auth.keys import KeyRing, NoActiveSigningKey
from policies.auth.tokens import TokenIssuer
from policies.auth.types import SCOPES
from policies.problems import TooManyRequests

logger = logging.getLogger(__name__)

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
_THROTTLE_LOG_SECONDS = 10.0
# every response of the token endpoint, errors included (RFC 6749 §5.1)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True, slots=True, repr=False)
class FormRequest:
    """A token request whose body was already read and parsed."""

    method: str
    url: str
    headers: Mapping[str, str]
    form: dict[str, str]

    def __repr__(self) -> str:
        return f"FormRequest({self.method} {self.url})"


class _OAuth2Request(OAuth2Request):  # type: ignore[misc]  # authlib is untyped
    def __init__(self, request: FormRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(request.form)
        self._form = request.form

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """authlib's view of a configured client; a placeholder stands in for unknown ids."""

    def __init__(self, client_id: str, config: ClientConfig | None, no_secret: str) -> None:
        self.client_id = client_id
        self.scopes: frozenset[str] = frozenset(config.scopes) if config else frozenset()
        self._secret_hash = config.secret_hash if config else None
        self._no_secret = no_secret

    def __repr__(self) -> str:
        return f"<OAuthClient {self.client_id}>"

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        # no secret (unknown id, API-key-only client): the same scrypt, against a dummy hash
        matches = verify_secret(client_secret, self._secret_hash or self._no_secret)
        return matches and self._secret_hash is not None

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class _ClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def validate_requested_scope(self) -> None:
        requested = self.request.payload.scope
        if requested is None:
            return
        wanted = set(requested.split())
        if not wanted:
            raise InvalidScopeError("scope is empty; omit it to get all of the client's scopes")
        unknown = wanted - SCOPES
        if unknown:
            raise InvalidScopeError("unknown scope requested")
        client: OAuthClient = self.request.client
        refused = wanted - client.scopes
        if refused:
            raise InvalidScopeError("scope not granted to this client: " +
                                    " ".join(sorted(refused)))

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        requested = self.request.payload.scope
        scopes = requested.split() if requested else sorted(self.request.client.scopes)
        token = self.generate_token(scope=" ".join(scopes), include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


class TokenServer(AuthorizationServer):  # type: ignore[misc]
    """POST /oauth/token for the client-credentials grant, issuing our JWT access tokens."""

    def __init__(self, config: AuthConfig, keyring: KeyRing, *,
                 clock: Callable[[], float] = time.time,
                 attempts: FailedAttempts | None = None) -> None:
        super().__init__()
        self._no_secret = dummy_hash(config.clients)
        self._clients = {c.id: OAuthClient(c.id, c, self._no_secret) for c in config.clients}
        self._issuer = TokenIssuer(keyring, config.token, clock=clock)
        self.require_https = config.token.require_https
        self.attempts = attempts or FailedAttempts(config.token_attempts)
        # bounds threads (and scrypt's 32 MiB each) spent on token requests at once
        self.limiter = anyio.CapacityLimiter(config.token_attempts.max_concurrent_checks)
        self._clock = clock
        self._throttle_logged_at = -_THROTTLE_LOG_SECONDS
        self.register_grant(_ClientCredentialsGrant)

    def query_client(self, client_id: str) -> OAuthClient:
        return self._clients.get(client_id) or OAuthClient(client_id, None, self._no_secret)

    def generate_token(self, grant_type: str, client: OAuthClient, user: object = None,
                       scope: str | None = None, expires_in: int | None = None,
                       include_refresh_token: bool = True) -> dict[str, Any]:
        try:
            issued = self._issuer.issue(client.client_id, scope.split() if scope else ())
        except NoActiveSigningKey:
            logger.error("no active signing key: cannot issue tokens; check auth.signing_keys")
            raise OAuth2Error("no signing key is active", status_code=503,
                              error="temporarily_unavailable") from None
        return {"access_token": issued.access_token, "token_type": "Bearer",
                "expires_in": issued.expires_in, "scope": issued.scope}

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        # nothing to store: the JWT is self-contained; log who got what, never the token
        logger.info("issued access token to client %s (scope %r, %ss)",
                    request.client.client_id, token["scope"], token["expires_in"])

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def create_oauth2_request(self, request: FormRequest) -> OAuth2Request:
        return _OAuth2Request(request)

    def handle_response(self, status: int, body: Any,
                        headers: Sequence[tuple[str, str]]) -> Response:
        merged = {**dict(headers), **NO_STORE}
        merged.pop("Content-Type", None)
        return Response(json.dumps(body, separators=(",", ":")), status_code=status,
                        headers=merged, media_type="application/json")

    def error_response(self, error: OAuth2Error) -> Response:
        return self.handle_response(*error())

    async def token_response(self, request: FormRequest, address: str) -> Response:
        """Refuse a throttled client id or address at once; else run the grant in a worker
        thread (client authentication hashes the secret) and count a failure."""
        keys = self.attempts.keys(claimed_client_id(request), address)
        with self.attempts.checking(keys) as places:
            throttled = await self.attempts.admit(keys, places)
            if throttled is not None:
                item = throttled.limit
                if self._clock() - self._throttle_logged_at >= _THROTTLE_LOG_SECONDS:
                    # a flood must not flood the log too: one line per interval
                    self._throttle_logged_at = self._clock()
                    logger.warning("token attempts throttled by %s (limit %d per %d s)",
                                   throttled.what, item.amount, item.get_expiry())
                detail = (f"too many failed token requests for this {throttled.what}: at "
                          f"most {item.amount} per {item.get_expiry()} s; retry in "
                          f"{throttled.retry_after} s")
                # problem+json that an OAuth client can read too
                problem = TooManyRequests(
                    detail, retry_after=throttled.retry_after, headers=dict(NO_STORE),
                    extensions={"error": "slow_down", "error_description": detail})
                return problem.response("/oauth/token")
            async with self.attempts.queued(keys):
                response: Response = await anyio.to_thread.run_sync(
                    self.create_token_response, request, limiter=self.limiter)
                if response.status_code == 401:
                    await self.attempts.failed(keys)
        return response


def claimed_client_id(request: FormRequest) -> str | None:
    """The client id the request claims (Basic credentials or the form), unverified."""
    authorization = request.headers.get("authorization", "")
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return unquote(decoded.partition(":")[0])
    return request.form.get("client_id")


def dummy_hash(clients: Sequence[ClientConfig]) -> str:
    """A hash no secret matches, with the scrypt parameters most clients use: checking it
    costs what checking a real client's secret costs."""
    used = Counter((h.n, h.r, h.p) for h in (parse_scrypt_hash(c.secret_hash)
                                           for c in clients if c.secret_hash is not None))
    n, r, p = used.most_common(1)[0][0] if used else (DEFAULT_N, DEFAULT_R, DEFAULT_P)
    salt, digest = secrets.token_bytes(SALT_BYTES), secrets.token_bytes(HASH_BYTES)
    return f"{SCRYPT_PREFIX}${n}${r}${p}${b64(salt)}${b64(digest)}"
