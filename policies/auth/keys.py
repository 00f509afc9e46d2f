"""Our signing keys and their rotation.

Keys are listed oldest first. The first key whose ``not_after`` has not passed
signs; keys after it are published ahead of use (so verifiers caching our JWKS
know them before they sign); keys before it stop signing but stay published and
valid until the last token they could have signed has expired
(``not_after + token lifetime + leeway``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, KeyParameters, OKPKey, RSAKey

from policies.auth.config import SigningKeyConfig, TokenConfig

Clock = Callable[[], float]

_KEY_TYPES: dict[str, str] = {
    "Ed25519": "OKP", "ES256": "EC", "RS256": "RSA",
}
_CURVES = {"Ed25519": "Ed25519", "ES256": "P-256"}
MIN_RSA_BITS = 2048


class NoActiveSigningKey(RuntimeError):
    """Every configured signing key is past its ``not_after``."""


@dataclass(frozen=True, slots=True, repr=False)
class SigningKey:
    kid: str
    algorithm: str
    key: Key
    # epoch seconds; None: signs until a later config retires it
    not_after: float | None
    public_jwk: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_jwk", dict(self.key.as_dict(private=False)))

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r}, algorithm={self.algorithm!r})"


def load_signing_key(config: SigningKeyConfig) -> SigningKey:
    """Import and check one configured private key; errors name the kid, never the key."""
    if config.private_key_pem is not None:
        pem = config.private_key_pem.get_secret_value().encode("utf-8")
    else:
        assert config.private_key_path is not None
        try:
            pem = config.private_key_path.read_bytes()
        except OSError as exc:
            raise ValueError(f"signing key {config.kid!r}: cannot read key file "
                             f"({exc.strerror})") from None
    alg = config.algorithm
    parameters: KeyParameters = {"kid": config.kid, "alg": alg, "use": "sig"}
    try:
        key: Key | None = JWKRegistry.import_key(pem, _KEY_TYPES[alg], parameters)
    except (JoseError, ValueError, TypeError):
        key = None
    if key is None or not key.is_private:
        raise ValueError(f"signing key {config.kid!r}: not an {alg} private key in PEM form")
    if isinstance(key, OKPKey | ECKey) and key.curve_name != _CURVES[alg]:
        raise ValueError(f"signing key {config.kid!r}: {alg} needs curve {_CURVES[alg]}")
    if isinstance(key, RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
        raise ValueError(f"signing key {config.kid!r}: RSA keys need >= {MIN_RSA_BITS} bits")
    not_after = config.not_after.timestamp() if config.not_after else None
    return SigningKey(config.kid, alg, key, not_after)


class KeyRing:
    def __init__(self, keys: Sequence[SigningKey], *, lifetime_seconds: int,
                 leeway_seconds: int, clock: Clock = time.time) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self._keys = tuple(keys)
        self._by_kid = {k.kid: k for k in self._keys}
        # how long a retired key keeps verifying: its last token's lifetime plus skew
        self._grace = lifetime_seconds + leeway_seconds
        self._clock = clock
        self.signing_key()  # fail at start, not on the first token request

    @classmethod
    def from_config(cls, keys: Sequence[SigningKeyConfig], token: TokenConfig, *,
                    clock: Clock = time.time) -> KeyRing:
        return cls([load_signing_key(k) for k in keys], lifetime_seconds=token.lifetime_seconds,
                   leeway_seconds=token.leeway_seconds, clock=clock)

    def signing_key(self) -> SigningKey:
        """The key that signs now: the first one not past its ``not_after``."""
        now = self._clock()
        for key in self._keys:
            if key.not_after is None or now < key.not_after:
                return key
        raise NoActiveSigningKey("every signing key is past its not_after")

    def verification_key(self, kid: str) -> SigningKey | None:
        """The published key with this kid, or None (unknown or retired for good)."""
        key = self._by_kid.get(kid)
        if key is None or not self._published(key, self._clock()):
            return None
        return key

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set: every key that signs, will sign, or has live tokens."""
        now = self._clock()
        return {"keys": [dict(k.public_jwk) for k in self._keys if self._published(k, now)]}

    def _published(self, key: SigningKey, now: float) -> bool:
        return key.not_after is None or now < key.not_after + self._grace


def generate_ed25519_pem() -> str:
    """A fresh Ed25519 private key (PKCS#8 PEM) for the embedded demo; lost on restart."""
    private = Ed25519PrivateKey.generate()
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode("ascii")
