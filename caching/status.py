"""What a lookup returns, and its RFC 9211 ``Cache-Status`` / RFC 9111 ``Age`` rendering.

How each path renders (cache name ``erp-gateway``)::

    fresh hit                        erp-gateway; hit; ttl=3
    stale, refreshing in background  erp-gateway; hit; ttl=-4; detail=stale-while-revalidate
    nothing cached, fetched          erp-gateway; fwd=uri-miss; stored; ttl=5
    too stale to serve, fetched      erp-gateway; fwd=stale; stored; ttl=5
    joined another request's fetch   erp-gateway; fwd=uri-miss; collapsed; ttl=5
    upstream failed, stale served    erp-gateway; fwd=stale; ttl=-40; detail=stale-if-error
    peer's fill too slow, stale      erp-gateway; fwd=stale; ttl=-40; detail=fill-wait

A stale-while-revalidate answer is a ``hit``: the request itself was not forwarded.
``ttl`` is the remaining freshness lifetime, negative once stale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

CACHE_NAME = "erp-gateway"

Status = Literal["hit", "stale", "miss"]
_RANK: dict[Status, int] = {"hit": 0, "stale": 1, "miss": 2}
_TOKEN = re.compile(r"^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$")


@dataclass(slots=True)
class Lookup:
    """One key's answer: the payload (``None``: unknown upstream) and how it was served.

    Read-only by convention: not frozen, because a frozen dataclass's ``__init__`` is
    several times as slow (``bench/RESULTS.md``) and a cached read builds one per request.
    """

    payload: bytes | None
    status: Status
    fetched_at: float  # wall clock, epoch seconds
    age: float  # seconds since the upstream produced it
    ttl: float  # remaining freshness in seconds, negative once stale
    fwd: str | None = None  # RFC 9211 reason the request went upstream (None: it did not)
    stored: bool = False
    collapsed: bool = False
    detail: str | None = None

    @property
    def found(self) -> bool:
        return self.payload is not None

    @property
    def age_header(self) -> str:
        """The ``Age`` header value (whole seconds, never negative)."""
        return str(max(0, int(self.age)))

    def cache_status(self, cache: str = CACHE_NAME) -> str:
        """The ``Cache-Status`` member this cache adds for this answer."""
        if self.fwd is None and self.detail is None and cache == CACHE_NAME:  # a fresh hit
            return f"{CACHE_NAME}; hit; ttl={math.floor(self.ttl)}"
        params = [_sf_item(cache)]
        if self.fwd is None:
            params.append("hit")
        else:
            params.append(f"fwd={self.fwd}")
            if self.collapsed:
                params.append("collapsed")
            if self.stored:
                params.append("stored")
        params.append(f"ttl={math.floor(self.ttl)}")
        if self.detail:
            params.append(f"detail={_sf_item(self.detail)}")
        return "; ".join(params)


def aggregate(lookups: Iterable[Lookup]) -> Lookup:
    """One representative answer for a response built from several keys.

    The worst status wins (miss over stale over hit), with the largest age and the
    smallest ttl among all keys, so headers never overstate freshness.
    """
    items = list(lookups)
    if not items:
        raise ValueError("aggregate() needs at least one lookup")
    if len(items) == 1:  # the hot path: one key, nothing to combine
        return items[0]
    worst = max(items, key=lambda item: (_RANK[item.status], item.age))
    return replace(worst, age=max(i.age for i in items), ttl=min(i.ttl for i in items))


def _sf_item(value: str) -> str:
    """A structured-field token when the text is one, else a quoted string."""
    if _TOKEN.fullmatch(value):
        return value
    if any(not (0x20 <= ord(c) <= 0x7E) for c in value):
        raise ValueError(f"not representable in a structured field: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
