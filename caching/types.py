"""The vocabulary shared by the cache's modules and its callers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

RedisClient = Redis | RedisCluster
"""One server, a Sentinel-managed primary, or Redis Cluster: the cache works on each."""

FetchResult = Mapping[str, tuple[bytes | None, Sequence[str]]]
Fetch = Callable[[list[str]], Awaitable[FetchResult]]
"""Called with every key to fetch; returns (payload or None if unknown, tags) per key.

A key missing from the result is cached as not found, without tags; return
``(None, tags)`` explicitly to make a not-found entry invalidatable.
"""
