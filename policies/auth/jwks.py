"""An external issuer's JWK Set: cached with a TTL, refetched on an unknown kid at most once per
interval, one fetch in flight.

Tokens with random ``kid`` values must not turn into a flood of requests to the
IdP: whatever asks, a fetch is attempted at most once per ``min_refetch_seconds``.
A failed fetch keeps the previous keys (the IdP being down should not log
everyone out) and is retried no sooner than the next interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, OctKey

logger = logging.getLogger(__name__)


def parse_jwks(document: Any) -> dict[str, Key]:
    """Signature keys of a JWK Set by kid; symmetric and malformed entries are skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, Key] = {}
    if not isinstance(entries, list):
        return keys
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = JWKRegistry.import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        # a shared secret has no business in a public key set (and invites alg confusion)
        if isinstance(key, OctKey):
            continue
        key.ensure_kid()
        assert key.kid is not None
        keys[key.kid] = key
    return keys


class JwksCache:
    def __init__(self, url: str, client: httpx.AsyncClient, *, ttl_seconds: float,
                 min_refetch_seconds: float, clock: Callable[[], float] = time.monotonic,
                 timeout_seconds: float = 5.0) -> None:
        self.url = url
        self._client = client
        self._ttl = ttl_seconds
        self._min_refetch = min_refetch_seconds
        self._clock = clock
        self._timeout = timeout_seconds
        self._keys: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str | None) -> Key | None:
        """The key for ``kid`` (None: the set's only key), fetching if stale or unknown."""
        if self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl:
            await self._refetch()
        key = self._lookup(kid)
        if key is None:
            await self._refetch()
            key = self._lookup(kid)
        return key

    def _lookup(self, kid: str | None) -> Key | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_refetch

    async def _refetch(self) -> None:
        # waiting for the lock is waiting for the fetch in flight (then usually no fetch of ours)
        async with self._lock:
            now = self._clock()
            if not self._may_fetch(now):
                return
            self._attempted_at = now
            keys = await self._download()
            if keys is not None:
                self._keys = keys
                self._fetched_at = now

    async def _download(self) -> dict[str, Key] | None:
        try:
            response = await self._client.get(self.url, timeout=self._timeout,
                                              headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("JWKS fetch from %s failed (%s); keeping %d cached keys",
                           self.url, type(exc).__name__, len(self._keys))
            return None
        keys = parse_jwks(document)
        if not keys:
            logger.warning("JWKS from %s has no usable signature keys; keeping %d cached keys",
                           self.url, len(self._keys))
            return None
        logger.debug("JWKS from %s: %d keys", self.url, len(keys))
        return keys
