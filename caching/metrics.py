"""Counters of one TieredCache, cumulative since start, by data class where a key has one.

The cache only counts; whoever exposes metrics reads ``by_class()`` and the replica-wide
fields when it is scraped (the gateway turns them into Prometheus counters). Reading the
totals (``counters.hits``) sums over the data classes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


@dataclass(slots=True)
class ClassCounters:
    """What happened to the keys of one data class (``inventory``, ``prices`` …)."""

    hits: int = 0  # keys served fresh from L1 or L2
    stale_hits: int = 0  # keys served stale (while revalidating, on error, after fill wait)
    misses: int = 0  # keys that needed the upstream (fetched, coalesced or filled by a peer)
    coalesced_waits: int = 0  # keys that joined a fetch already in flight on this replica
    peer_fills: int = 0  # keys another replica fetched while this one waited on the fill lock
    fetches: int = 0  # calls to the upstream fetch function
    fetch_errors: int = 0  # of those, calls that raised
    refreshes: int = 0  # background revalidations started


CLASS_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ClassCounters))


@dataclass
class Counters:
    l2_errors: int = 0  # Redis errors and timeouts (the request went on without L2)
    invalidations: int = 0  # tag invalidations and purges applied to this replica's L1
    l1_flushes: int = 0  # whole-L1 flushes on (re)connect of the invalidation subscriber
    classes: dict[str, ClassCounters] = field(default_factory=dict)

    def of(self, data_class: str) -> ClassCounters:
        """The counters of one data class, created on first use."""
        found = self.classes.get(data_class)
        if found is None:
            found = self.classes[data_class] = ClassCounters()
        return found

    def by_class(self) -> dict[str, dict[str, int]]:
        return {name: asdict(c) for name, c in self.classes.items()}

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.classes.values())

    @property
    def hits(self) -> int:
        return self._total("hits")

    @property
    def stale_hits(self) -> int:
        return self._total("stale_hits")

    @property
    def misses(self) -> int:
        return self._total("misses")

    @property
    def coalesced_waits(self) -> int:
        return self._total("coalesced_waits")

    @property
    def peer_fills(self) -> int:
        return self._total("peer_fills")

    @property
    def fetches(self) -> int:
        return self._total("fetches")

    @property
    def fetch_errors(self) -> int:
        return self._total("fetch_errors")

    @property
    def refreshes(self) -> int:
        return self._total("refreshes")

    def as_dict(self) -> dict[str, int]:
        """Totals over every data class plus the replica-wide counters."""
        out = {name: self._total(name) for name in CLASS_FIELDS}
        out.update(l2_errors=self.l2_errors, invalidations=self.invalidations,
                   l1_flushes=self.l1_flushes)
        return out
