"""Verified bearer tokens, remembered until they expire so a repeat skips the signature check.

Keyed by the SHA-256 of the token, so the cache never holds a usable token. Bounded
LRU; only touched from the event loop, with no await in between, so no lock.
"""

from __future__ import annotations

from collections import OrderedDict

from policies.auth.types import Principal


class VerifiedTokenCache:
    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self._maxsize = maxsize
        self._entries: OrderedDict[bytes, tuple[Principal, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, now: float) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        principal, expires_at = entry
        if now >= expires_at:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return principal

    def put(self, digest: bytes, principal: Principal, expires_at: float) -> None:
        self._entries[digest] = (principal, expires_at)
        self._entries.move_to_end(digest)
        if len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)
