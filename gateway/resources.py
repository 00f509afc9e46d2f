"""Building and closing the long-lived clients a gateway replica holds."""

from __future__ import annotations

import redis.asyncio as aioredis

from carriers.idempotency import open_store
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService
from gateway.demo import demo_shipping
from gateway.settings import RedisSettings, Settings


def redis_client(config: RedisSettings) -> aioredis.Redis:
    # a blocking pool: bursts (200 concurrent label buys) wait for a connection instead of failing
    pool = aioredis.BlockingConnectionPool.from_url(
        config.url, max_connections=config.max_connections, timeout=config.pool_timeout,
        socket_timeout=config.socket_timeout, socket_connect_timeout=config.connect_timeout,
        health_check_interval=30)
    # from_pool: closing the client closes the pool too
    return aioredis.Redis.from_pool(pool)


def shipping_service(settings: Settings, redis: aioredis.Redis | None) -> ShippingService:
    config = settings.shipping or demo_shipping()
    registry = CarrierRegistry.from_config(config.accounts)
    store = open_store(config.idempotency, redis=redis)
    return ShippingService.from_config(config, registry, store)
