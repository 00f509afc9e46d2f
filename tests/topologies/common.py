"""What the topology tests share: gateway settings on a topology, bounded polling, requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from limits import RateLimitItem

from carriers.config import IdempotencyConfig
from gateway.demo import demo_shipping
from gateway.redis_settings import RedisClusterNodes, RedisSentinel, RedisSettings
from gateway.settings import Settings
from policies.ratelimit import limit_key
from tests.support.app import STOREFRONT
from tests.support.redis_topologies import RedisCluster, SentinelGroup

ADDRESS_FROM = {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                "postal_code": "07101", "country": "US", "phone": "+1 555 0100"}
# a destination with a space in its postal code and a non-ASCII street
ADDRESS_TO = {"name": "Zoë Brontë", "street": ["Königstraße 12"], "city": "Denver",
              "state": "CO", "postal_code": "80202 1234", "country": "US",
              "phone": "+1 555 0199"}
PARCEL = {"weight": "2.5", "dimensions": {"length": 30, "width": 20, "height": 10}}


def label_request() -> dict[str, Any]:
    return {"warehouse": "WH-EAST", "carrier": "sandbox-main", "service": "ground",
            "ship_from": ADDRESS_FROM, "ship_to": ADDRESS_TO, "parcels": [PARCEL]}


def cluster_redis(cluster: RedisCluster, **extra: Any) -> RedisSettings:
    return RedisSettings(cluster=RedisClusterNodes(nodes=cluster.seeds), **extra)


def sentinel_redis(group: SentinelGroup, **extra: Any) -> RedisSettings:
    return RedisSettings(sentinel=RedisSentinel(service=group.service,
                                                nodes=group.sentinel_addresses), **extra)


def settings_on(redis: RedisSettings, labels: Path, *, replicas: int = 2) -> Settings:
    """The demo, with Redis for cache, limits and label records."""
    demo = Settings.embedded_demo()
    shipping = demo_shipping(labels).model_copy(
        update={"idempotency": IdempotencyConfig(backend="redis")})
    return demo.model_copy(update={
        "redis": redis, "shipping": shipping,
        "ratelimit": demo.ratelimit.model_copy(update={"replicas": replicas})})


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     attempts: int = 400, pause: float = 0.05) -> int:
    """Poll ``check`` until true (bounded); returns how many attempts it took."""
    for attempt in range(1, attempts + 1):
        if await check():
            return attempt
        await asyncio.sleep(pause)
    raise AssertionError(f"{what}: still false after {attempts} attempts")


async def back_on_redis(client: httpx.AsyncClient, svc: Any, item: RateLimitItem) -> bool:
    """One cached read and one limiter decision; true once neither runs degraded any more."""
    await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    decision = await svc.limiter.acquire(limit_key(item, "probe", "inventory", "GET"), item)
    return bool(decision.allowed and not svc.limiter.degraded and not svc.cache.degraded)
