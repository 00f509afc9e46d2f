"""JWT checks shared by our own and external tokens, with failures as safe, short reasons.

A ``TokenRejected`` message goes to the caller in ``error_description``: it says
what was wrong (expired, wrong audience …) and never contains the token, a claim
value or a key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry, extract_compact


class TokenRejected(Exception):
    """A bearer token we do not accept; ``str(exc)`` is safe to send back."""


@dataclass(frozen=True, slots=True)
class UnverifiedJwt:
    """Header and claims read before any check: only for choosing the issuer and key."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def kid(self) -> str | None:
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def issuer(self) -> str | None:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else None


def peek(token: str) -> UnverifiedJwt:
    try:
        obj = extract_compact(token.encode("ascii"))
        claims = json.loads(obj.payload) if obj.payload is not None else None
    except (JoseError, ValueError, UnicodeError):
        raise TokenRejected("token is not a well-formed JWT") from None
    if not isinstance(claims, dict):
        raise TokenRejected("token is not a well-formed JWT")
    return UnverifiedJwt(dict(obj.headers()), claims)


def registry_for(algorithms: list[str], *, strict_header: bool = True) -> JWSRegistry:
    """A JWS registry that accepts exactly ``algorithms`` (never empty: empty means defaults)."""
    if not algorithms:
        raise ValueError("an algorithm allowlist cannot be empty")
    return JWSRegistry(algorithms=list(algorithms), strict_check_header=strict_header)


def essential(*names: str) -> dict[str, jwt.ClaimsOption]:
    return {name: {"essential": True} for name in names}


def claims_registry(*, issuer: str, audience: str, leeway: int, now: Callable[[], int],
                    required: tuple[str, ...]) -> jwt.JWTClaimsRegistry:
    options = essential(*required)
    options["iss"] = {"essential": True, "value": issuer}
    options["aud"] = {"essential": True, "value": audience}
    options["exp"] = {"essential": True}
    return jwt.JWTClaimsRegistry(now=now, leeway=leeway, **options)


def verify_jwt(token: str, key: Key, registry: JWSRegistry,
               claims: jwt.JWTClaimsRegistry) -> dict[str, Any]:
    """Signature (with the allowlisted algorithms only), then claims; the verified claims."""
    try:
        decoded = jwt.decode(token, key, registry=registry)
    except UnsupportedAlgorithmError:
        raise TokenRejected("token algorithm is not allowed") from None
    except BadSignatureError:
        raise TokenRejected("token signature is invalid") from None
    except (JoseError, ValueError, TypeError):
        raise TokenRejected("token cannot be verified with the issuer's key") from None
    try:
        claims.validate(decoded.claims)
    except ExpiredTokenError:
        raise TokenRejected("token has expired") from None
    except MissingClaimError as exc:
        raise TokenRejected(f"token lacks required claims: {exc.claim}") from None
    except InvalidClaimError as exc:
        raise TokenRejected(_invalid_claim_reason(exc.claim)) from None
    return decoded.claims


def _invalid_claim_reason(claim: str) -> str:
    if claim == "nbf":
        return "token is not valid yet"
    if claim == "iat":
        return "token was issued in the future"
    if claim == "aud":
        return "token audience is not this gateway"
    if claim == "iss":
        return "token issuer does not match its key"
    return f"token claim '{claim}' is invalid"


def scope_set(value: object) -> frozenset[str]:
    """Scopes from a claim that is a space-separated string or a list of strings."""
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    return frozenset()
