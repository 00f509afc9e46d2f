"""HMAC signatures on inbound webhooks (ERP change notifications): pure functions.

Two formats are accepted:

``v1`` (ours, preferred)::

    X-Gateway-Timestamp: <unix seconds>
    X-Gateway-Signature: v1=<hex HMAC-SHA256(secret, b"<timestamp>." + raw body)>

The timestamp is signed, and one more than ``max_age`` seconds away from now is
rejected, which bounds replays to that window. During a secret rotation the
sender may list several signatures (``v1=<a>,v1=<b>``); one match is enough.

``frappe`` (what ERPNext / Frappe sends)::

    X-Frappe-Webhook-Signature: <base64 HMAC-SHA256(secret, raw body)>

Frappe signs the body only, with no timestamp, so this layer cannot tell a
replay from the original. Decision: accept it here, and leave replay protection
to the body and the handler. The handlers this gateway runs on webhooks only
invalidate cache tags, which is idempotent (a replay costs one extra ERP read);
a handler with side effects must check a timestamp carried in the signed body
(e.g. the document's ``modified`` field) with :func:`check_timestamp`, or set
``accept_frappe=False``.

Secrets: pass one, or several during a rotation (any of them may match).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Literal

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
FRAPPE_HEADER = "X-Frappe-Webhook-Signature"
DEFAULT_MAX_AGE = 300

Scheme = Literal["v1", "frappe"]
Secrets = bytes | Sequence[bytes]

_MAX_SIGNATURES = 8  # bounds the work an attacker can ask for per request


class SignatureError(Exception):
    """The webhook is not authentic (or not verifiable); ``reason`` is a short token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(raw_body: bytes, secret: bytes, timestamp: int) -> dict[str, str]:
    """The ``v1`` headers for ``raw_body`` sent at ``timestamp`` (unix seconds)."""
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"v1={_v1_digest(_secret_list(secret)[0], timestamp, raw_body).hex()}",
    }


def sign_frappe(raw_body: bytes, secret: bytes) -> dict[str, str]:
    """The header Frappe would send for ``raw_body``."""
    digest = hmac.new(_secret_list(secret)[0], raw_body, hashlib.sha256).digest()
    return {FRAPPE_HEADER: base64.b64encode(digest).decode()}


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: Secrets,
    now: float,
    max_age: int = DEFAULT_MAX_AGE,
    *,
    accept_frappe: bool = True,
) -> Scheme:
    """Check the signature of ``raw_body``; returns the scheme it was signed with.

    ``headers`` is looked up case-insensitively. Raises :class:`SignatureError`
    when the signature is missing, malformed, wrong, or (``v1``) too old or new.
    """
    secrets = _secret_list(secret)
    signature = _header(headers, SIGNATURE_HEADER)
    if signature is not None:
        _verify_v1(raw_body, signature, _header(headers, TIMESTAMP_HEADER), secrets, now, max_age)
        return "v1"
    frappe = _header(headers, FRAPPE_HEADER)
    if frappe is not None and accept_frappe:
        _verify_frappe(raw_body, frappe, secrets)
        return "frappe"
    raise SignatureError("missing-signature")


def check_timestamp(timestamp: float, now: float, max_age: int = DEFAULT_MAX_AGE) -> None:
    """Reject a (signed) timestamp more than ``max_age`` seconds away from ``now``."""
    if abs(now - timestamp) > max_age:
        raise SignatureError("timestamp-out-of-tolerance")


def _verify_v1(
    raw_body: bytes,
    signature: str,
    timestamp_text: str | None,
    secrets: list[bytes],
    now: float,
    max_age: int,
) -> None:
    if timestamp_text is None:
        raise SignatureError("missing-timestamp")
    text = timestamp_text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        raise SignatureError("malformed-timestamp")
    timestamp = int(text)
    check_timestamp(timestamp, now, max_age)
    candidates = _v1_candidates(signature)
    expected = [_v1_digest(s, timestamp, raw_body) for s in secrets]
    if not _any_match(candidates, expected):
        raise SignatureError("bad-signature")


def _v1_candidates(header: str) -> list[bytes]:
    candidates: list[bytes] = []
    for part in header.split(","):
        scheme, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed-signature")
        if scheme != "v1":
            continue  # a future scheme next to v1 is not ours to judge
        try:
            digest = bytes.fromhex(value)
        except ValueError:
            raise SignatureError("malformed-signature") from None
        if len(digest) != hashlib.sha256().digest_size:
            raise SignatureError("malformed-signature")
        candidates.append(digest)
    if not candidates:
        raise SignatureError("malformed-signature")
    if len(candidates) > _MAX_SIGNATURES:
        raise SignatureError("too-many-signatures")
    return candidates


def _verify_frappe(raw_body: bytes, header: str, secrets: list[bytes]) -> None:
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("malformed-signature") from None
    if len(digest) != hashlib.sha256().digest_size:
        raise SignatureError("malformed-signature")
    expected = [hmac.new(s, raw_body, hashlib.sha256).digest() for s in secrets]
    if not _any_match([digest], expected):
        raise SignatureError("bad-signature")


def _v1_digest(secret: bytes, timestamp: int, raw_body: bytes) -> bytes:
    return hmac.new(secret, f"{timestamp}.".encode() + raw_body, hashlib.sha256).digest()


def _any_match(candidates: list[bytes], expected: list[bytes]) -> bool:
    # compare every pair (no early exit) so timing says nothing about which one matched
    matched = False
    for candidate in candidates:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    return matched


def _secret_list(secret: Secrets) -> list[bytes]:
    secrets = [bytes(secret)] if isinstance(secret, bytes | bytearray) else list(secret)
    if not secrets or any(not isinstance(s, bytes | bytearray) or not s for s in secrets):
        raise ValueError("webhook secrets must be non-empty bytes")
    return [bytes(s) for s in secrets]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None
