"""The ``[auth]`` config section: clients, our token issuer and keys, trusted external issuers.

Validated at load so a bad file fails at start with the field path. Stored
credentials are hashes (see ``policies.auth.hashing``); private keys are
``SecretStr`` so they never show up in a repr, a log line or an error message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from policies.auth.hashing import parse_api_key_hash, parse_scrypt_hash
from policies.auth.types import ALL_SCOPES, ScopeName
from policies.ratelimit.config import parse_limit

_ID_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"
# a warehouse code as the shipping config spells it
_WAREHOUSE = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")]

SigningAlgorithm = Literal["Ed25519", "ES256", "RS256"]

# asymmetric only: "none" and HS* are never accepted from anyone
EXTERNAL_ALGORITHMS: frozenset[str] = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "Ed25519", "EdDSA",
})

DEFAULT_PUBLIC_PATHS: tuple[str, ...] = (
    "/healthz", "/readyz", "/openapi/", "/docs", "/oauth/token", "/.well-known/jwks.json",
    "/webhooks/",
)


class _Model(BaseModel):
    # a plaintext secret pasted where its hash belongs must not be echoed into startup logs
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ClientConfig(_Model):
    id: Annotated[str, Field(pattern=_ID_PATTERN)]
    # scrypt$n$r$p$salt$hash; None: this client cannot use /oauth/token
    secret_hash: Annotated[str | None, Field(repr=False)] = None
    # sha256$<hex> per key; several keys allow rotation without downtime
    api_key_hashes: Annotated[list[str], Field(repr=False)] = []
    scopes: list[ScopeName]
    plan: str = "default"
    # API versions this client may call; empty means all
    versions: list[str] = []
    # warehouses this client may buy, reprint and void labels for; empty means all
    warehouses: list[_WAREHOUSE] = []

    @field_validator("secret_hash")
    @classmethod
    def _secret_hash_format(cls, value: str | None) -> str | None:
        if value is not None:
            parse_scrypt_hash(value)
        return value

    @field_validator("api_key_hashes")
    @classmethod
    def _api_key_hash_format(cls, value: list[str]) -> list[str]:
        for item in value:
            parse_api_key_hash(item)
        return value

    @model_validator(mode="after")
    def _has_a_credential(self) -> Self:
        if self.secret_hash is None and not self.api_key_hashes:
            raise ValueError("a client needs secret_hash or api_key_hashes")
        return self


class SigningKeyConfig(_Model):
    kid: Annotated[str, Field(pattern=_ID_PATTERN)]
    private_key_pem: SecretStr | None = None
    private_key_path: Path | None = None
    algorithm: SigningAlgorithm
    # stops signing at this instant; stays published until its last token has expired
    not_after: AwareDatetime | None = None

    @field_validator("algorithm", mode="before")
    @classmethod
    def _fully_specified_eddsa(cls, value: Any) -> Any:
        # RFC 9864 deprecates the polymorphic "EdDSA"; for an Ed25519 key it means "Ed25519"
        return "Ed25519" if value == "EdDSA" else value

    @model_validator(mode="after")
    def _one_key_source(self) -> Self:
        if (self.private_key_pem is None) == (self.private_key_path is None):
            raise ValueError("give exactly one of private_key_pem or private_key_path")
        return self


class TokenConfig(_Model):
    issuer: Annotated[str, Field(min_length=1)]
    audience: Annotated[str, Field(min_length=1)]
    lifetime_seconds: Annotated[int, Field(ge=60, le=86_400)] = 900
    # clock skew tolerated between replicas for exp / nbf / iat
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    # /oauth/token refuses plain http except on loopback (authlib's rule) unless this is off,
    # e.g. behind a TLS-terminating proxy that does not forward the scheme
    require_https: bool = True


class TokenAttemptsConfig(_Model):
    """Failed ``/oauth/token`` attempts admitted before 429, counted on sliding windows
    (shared through Redis when the gateway has it)."""

    per_client: str = "10/minute"
    per_address: str = "30/minute"
    # client secret checks (scrypt: ~0.1 s of CPU and 32 MiB each) running at once
    max_concurrent_checks: Annotated[int, Field(ge=1, le=32)] = 2
    key_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] = "gw-token"
    # longest a token request waits on Redis for its counts; beyond, this replica counts alone
    redis_deadline_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5

    @field_validator("per_client", "per_address")
    @classmethod
    def _limit(cls, value: str) -> str:
        parse_limit(value)
        return value


class ExternalIssuerConfig(_Model):
    issuer: Annotated[str, Field(min_length=1)]
    jwks_url: str
    audience: Annotated[str, Field(min_length=1)]
    algorithms: Annotated[list[str], Field(min_length=1)] = ["RS256", "ES256"]
    jwks_ttl_seconds: Annotated[int, Field(ge=10, le=86_400)] = 300
    jwks_min_refetch_seconds: Annotated[int, Field(ge=1, le=3_600)] = 30
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    # a space-separated string or a list of strings, depending on the IdP
    scope_claim: str = "scope"
    # the first of these claims present names the client
    client_id_claims: Annotated[list[str], Field(min_length=1)] = ["azp", "client_id", "sub"]
    # scopes this issuer may grant; others in its tokens are ignored
    allowed_scopes: list[ScopeName] = Field(default_factory=lambda: list(ALL_SCOPES))
    plan: str = "default"
    versions: list[str] = []
    # warehouses this issuer's callers may ship from; empty means all
    warehouses: list[_WAREHOUSE] = []
    # an explicit outbound proxy for the JWKS fetch (the environment's proxy settings are
    # never read)
    proxy: Annotated[str, Field(pattern=r"^https?://[^\s/]+/?$")] | None = None

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, value: list[str]) -> list[str]:
        refused = [alg for alg in value if alg not in EXTERNAL_ALGORITHMS]
        if refused:
            raise ValueError(f"algorithms not allowed: {refused}; "
                             f"choose from {sorted(EXTERNAL_ALGORITHMS)}")
        return value

    @field_validator("jwks_url")
    @classmethod
    def _https_url(cls, value: str) -> str:
        parts = urlsplit(value)
        loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
        if not parts.hostname or not (parts.scheme == "https" or
                                      (parts.scheme == "http" and loopback)):
            raise ValueError("jwks_url must be an https URL (http only on loopback)")
        return value


class AuthConfig(_Model):
    clients: list[ClientConfig] = []
    token: TokenConfig
    signing_keys: Annotated[list[SigningKeyConfig], Field(min_length=1)]
    external_issuers: list[ExternalIssuerConfig] = []
    token_attempts: TokenAttemptsConfig = TokenAttemptsConfig()
    # matched by path segment prefix: "/healthz" covers "/healthz" and "/healthz/live"
    public_paths: list[str] = list(DEFAULT_PUBLIC_PATHS)

    @field_validator("public_paths")
    @classmethod
    def _absolute_paths(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.startswith("/"):
                raise ValueError(f"public path {path!r} must start with '/'")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        _unique("client id", [c.id for c in self.clients])
        _unique("signing key kid", [k.kid for k in self.signing_keys])
        # never echo a hash back: say which clients collide instead
        owners: dict[str, str] = {}
        for client in self.clients:
            for hashed in client.api_key_hashes:
                if hashed in owners:
                    raise ValueError(f"an API key hash is listed twice "
                                     f"(clients {owners[hashed]!r} and {client.id!r})")
                owners[hashed] = client.id
        issuers = [i.issuer for i in self.external_issuers]
        _unique("external issuer", issuers)
        if self.token.issuer in issuers:
            raise ValueError("an external issuer cannot use our own token issuer name")
        return self


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"duplicate {what} {name!r}")
        seen.add(name)
