"""Two-tier cache (L1 in-process, L2 Redis) with single-flight, stale rules and invalidation."""

from caching.config import CacheConfig, FreshnessPolicy
from caching.entry import Entry
from caching.l2 import redis_client
from caching.metrics import Counters
from caching.status import CACHE_NAME, Lookup, Status, aggregate
from caching.tiered import InvalidationResult, TieredCache
from caching.types import Fetch, FetchResult

__all__ = [
    "CACHE_NAME",
    "CacheConfig",
    "Counters",
    "Entry",
    "Fetch",
    "FetchResult",
    "FreshnessPolicy",
    "InvalidationResult",
    "Lookup",
    "Status",
    "TieredCache",
    "aggregate",
    "redis_client",
]
