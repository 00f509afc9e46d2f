"""A cached entry and its compact L2 encoding.

An entry is the canonical payload exactly as the fetcher produced it (``None``:
the key does not exist upstream), the wall-clock time it was fetched, and the
tags that invalidate it. L2 stores it as one string::

    !B version | !B flags (bit 0: found) | !d fetched_at | !H tag count
    then per tag: !H length + UTF-8 bytes
    then the payload bytes (empty and ignored when not found)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FORMAT_VERSION = 1
_HEADER = struct.Struct("!BBdH")
_TAG_LEN = struct.Struct("!H")
_FOUND = 0x01


class EntryDecodeError(ValueError):
    """Bytes in L2 that are not an entry of this format (treated as a miss)."""


@dataclass(frozen=True, slots=True)
class Entry:
    payload: bytes | None
    fetched_at: float
    tags: tuple[str, ...] = ()

    def age(self, now: float) -> float:
        """Seconds since the fetch; never negative even if clocks disagree a little."""
        return max(0.0, now - self.fetched_at)


def encode(entry: Entry) -> bytes:
    flags = _FOUND if entry.payload is not None else 0
    parts = [_HEADER.pack(FORMAT_VERSION, flags, entry.fetched_at, len(entry.tags))]
    for tag in entry.tags:
        raw = tag.encode()
        parts.append(_TAG_LEN.pack(len(raw)))
        parts.append(raw)
    if entry.payload is not None:
        parts.append(entry.payload)
    return b"".join(parts)


def decode(data: bytes) -> Entry:
    try:
        version, flags, fetched_at, count = _HEADER.unpack_from(data, 0)
        if version != FORMAT_VERSION:
            raise EntryDecodeError(f"entry format {version}, expected {FORMAT_VERSION}")
        offset = _HEADER.size
        tags: list[str] = []
        for _ in range(count):
            (length,) = _TAG_LEN.unpack_from(data, offset)
            offset += _TAG_LEN.size
            if offset + length > len(data):
                raise EntryDecodeError("truncated tag")
            tags.append(data[offset:offset + length].decode())
            offset += length
    except (struct.error, UnicodeDecodeError) as exc:
        raise EntryDecodeError(str(exc)) from exc
    payload = bytes(data[offset:]) if flags & _FOUND else None
    return Entry(payload=payload, fetched_at=fetched_at, tags=tuple(tags))
