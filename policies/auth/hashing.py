"""Stored credentials: scrypt for client secrets, SHA-256 for API keys.

Client secrets may be chosen by people, so they get a slow, salted KDF in a
self-describing string ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash in
unpadded base64url). API keys are generated with >= 128 bits of entropy and are
checked on every request, so a single SHA-256 (``sha256$<hex>``) is both enough
and cheap.

Command line: ``python -m policies.auth --help``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCRYPT_PREFIX = "scrypt"
SHA256_PREFIX = "sha256"

# 2**15 * 8 * 128 bytes = 32 MiB and ~0.15 s per check on the reference machine
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2**15, 8, 1
# refuse parameters that would let one config line exhaust memory or CPU
MAX_N, MAX_R, MAX_P = 2**20, 32, 16
MAX_MEMORY = 256 * 1024 * 1024
SALT_BYTES, HASH_BYTES = 16, 32


@dataclass(frozen=True, slots=True)
class ScryptHash:
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def b64(data: bytes) -> str:
    """Unpadded base64url, as the stored hashes spell salt and digest."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # maxmem must exceed 128*n*r or hashlib refuses the parameters
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=256 * n * r + 1024 * 1024, dklen=length)


def parse_scrypt_hash(hashed: str) -> ScryptHash:
    """Parse and bound-check a ``scrypt$...`` string; ValueError (without the value) if unusable."""
    parts = hashed.split("$")
    if len(parts) != 6 or parts[0] != SCRYPT_PREFIX:
        raise ValueError("expected scrypt$<n>$<r>$<p>$<salt>$<hash>")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        raise ValueError("scrypt hash has malformed fields") from None
    if n < 2 or n > MAX_N or n & (n - 1):
        raise ValueError(f"scrypt n must be a power of two between 2 and {MAX_N}")
    if not (1 <= r <= MAX_R and 1 <= p <= MAX_P):
        raise ValueError(f"scrypt r must be 1..{MAX_R} and p 1..{MAX_P}")
    if 128 * n * r > MAX_MEMORY:
        raise ValueError(f"scrypt n*r needs more than {MAX_MEMORY // 2**20} MiB")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt or hash is too short")
    return ScryptHash(n, r, p, salt, digest)


def hash_secret(secret: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    """Hash a client secret for the config file (scrypt, fresh random salt)."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, n, r, p, HASH_BYTES)
    return f"{SCRYPT_PREFIX}${n}${r}${p}${b64(salt)}${b64(digest)}"


def verify_secret(secret: str, hashed: str) -> bool:
    """True when ``secret`` matches ``hashed``; the comparison is constant-time."""
    try:
        parsed = parse_scrypt_hash(hashed)
    except ValueError:
        return False
    candidate = _scrypt(secret, parsed.salt, parsed.n, parsed.r, parsed.p, len(parsed.digest))
    return hmac.compare_digest(candidate, parsed.digest)


def api_key_digest(api_key: bytes) -> bytes:
    """The raw SHA-256 of an API key: the lookup key of the per-request check."""
    return hashlib.sha256(api_key).digest()


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key: ``sha256$<hex>``."""
    return f"{SHA256_PREFIX}${api_key_digest(api_key.encode('utf-8')).hex()}"


def parse_api_key_hash(hashed: str) -> bytes:
    """The raw digest inside ``sha256$<hex>``; ValueError if malformed."""
    prefix, _, hexdigest = hashed.partition("$")
    if prefix != SHA256_PREFIX or len(hexdigest) != 64:
        raise ValueError("expected sha256$<64 hex digits>")
    try:
        return bytes.fromhex(hexdigest)
    except ValueError:
        raise ValueError("expected sha256$<64 hex digits>") from None


def generate_credential() -> str:
    """A new random API key or client secret: 256 bits of entropy, URL-safe."""
    return secrets.token_urlsafe(32)
