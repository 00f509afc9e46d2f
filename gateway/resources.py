"""Building and closing the long-lived clients a gateway replica holds."""

from __future__ import annotations

import redis.asyncio as aioredis

from carriers.idempotency import open_store
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService
from gateway.demo import demo_shipping
from gateway.erp import build_connector
from gateway.erp.base import ErpConnector
from gateway.erp.demo import DemoConfig
from gateway.settings import RedisSettings, Settings


def redis_client(config: RedisSettings) -> aioredis.Redis:
    # a blocking pool: bursts (200 concurrent label buys) wait for a connection instead of failing
    pool = aioredis.BlockingConnectionPool.from_url(
        config.url, max_connections=config.max_connections, timeout=config.pool_timeout,
        socket_timeout=config.socket_timeout, socket_connect_timeout=config.connect_timeout,
        health_check_interval=30)
    # from_pool: closing the client closes the pool too
    return aioredis.Redis.from_pool(pool)


def erp_connector(settings: Settings) -> ErpConnector:
    """The configured ERP; the in-process demo ERP only in demo mode (settings require
    ``[erp]`` otherwise)."""
    config = settings.erp
    if config is None:
        if not settings.demo:
            raise ValueError("no [erp] section and not a demo: refusing the demo ERP")
        config = DemoConfig()
    return build_connector(config)


def shipping_service(settings: Settings, redis: aioredis.Redis | None) -> ShippingService:
    """The configured carriers; the sandbox accounts only in demo mode (settings require
    ``[shipping]`` otherwise)."""
    config = settings.shipping
    if config is None:
        if not settings.demo:
            raise ValueError("no [shipping] section and not a demo: refusing sandbox carriers")
        config = demo_shipping()
    registry = CarrierRegistry.from_config(config.accounts)
    store = open_store(config.idempotency, redis=redis)
    return ShippingService.from_config(config, registry, store)
