"""Entity tags and ``If-None-Match`` (RFC 9110 sections 8.8.3 and 13.1.2).

``entity_tag(body)`` is a strong validator: it changes whenever the bytes do. A layer that
changes the bytes without changing the meaning (compression) weakens it with ``weaken``,
as the RFC asks of a content coding applied on the fly. ``If-None-Match`` uses the weak
comparison, so ``W/"x"`` and ``"x"`` match each other, and ``*`` matches any current
representation. A malformed list matches nothing: the full answer is always safe.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

__all__ = ["entity_tag", "none_match", "weaken"]


def entity_tag(body: bytes) -> bytes:
    """A strong ETag value (quotes included) for these exact bytes."""
    digest = hashlib.blake2b(body, digest_size=12).digest()
    return b'"' + base64.urlsafe_b64encode(digest) + b'"'


def weaken(tag: bytes) -> bytes:
    """The weak form of an ETag value (unchanged when it is weak already)."""
    return tag if tag.startswith(b"W/") else b"W/" + tag


def _opaque_tags(value: bytes) -> Iterable[bytes] | None:
    """The opaque tags (quotes included) of one header line, or ``None`` if malformed."""
    tags: list[bytes] = []
    i, n = 0, len(value)
    while i < n:
        char = value[i]
        if char in b" \t,":
            i += 1
            continue
        if value.startswith(b"W/", i):
            i += 2
        if i >= n or value[i] != 0x22:  # '"'
            return None
        end = value.find(b'"', i + 1)
        if end < 0:
            return None
        tag = value[i:end + 1]
        # etagc: %x21 / %x23-7E / obs-text
        if any(c < 0x21 or c == 0x7F for c in tag[1:-1]):
            return None
        tags.append(tag)
        i = end + 1
        if i < n and value[i] not in b" \t,":
            return None
    return tags


def none_match(values: Iterable[bytes], tag: bytes) -> bool:
    """Whether ``If-None-Match`` header lines match ``tag`` (weak comparison)."""
    opaque = tag[2:] if tag.startswith(b"W/") else tag
    for value in values:
        stripped = value.strip()
        # the usual case: the client sends back the one tag it was given
        if stripped == opaque or stripped == b"*" or stripped == b"W/" + opaque:
            return True
        tags = _opaque_tags(value)
        if tags is None:
            return False
        if opaque in tags:
            return True
    return False
