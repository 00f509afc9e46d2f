"""Counters of one TieredCache, cumulative since start, ready for a metrics endpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Counters:
    hits: int = 0  # keys served fresh from L1 or L2
    stale_hits: int = 0  # keys served stale (while revalidating, on error, after fill wait)
    misses: int = 0  # keys that needed the upstream (fetched, coalesced or filled by a peer)
    coalesced_waits: int = 0  # keys that joined a fetch already in flight on this replica
    peer_fills: int = 0  # keys another replica fetched while this one waited on the fill lock
    fetches: int = 0  # calls to the upstream fetch function
    fetch_errors: int = 0  # of those, calls that raised
    refreshes: int = 0  # background revalidations started
    l2_errors: int = 0  # Redis errors and timeouts (the request went on without L2)
    invalidations: int = 0  # tag invalidations and purges applied to this replica's L1
    l1_flushes: int = 0  # whole-L1 flushes on (re)connect of the invalidation subscriber

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
