"""Building and closing the long-lived clients a gateway replica holds."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from carriers.idempotency import IdempotencyStore, open_store
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp import build_connector
from gateway.erp.base import ErpConnector
from gateway.erp.demo import DemoConfig
from gateway.orders.records import OrderRecords
from gateway.orders.reservations import LocalReservations, RedisReservations, Reservations
from gateway.orders.service import OrderService
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
    """The configured ERP (``Settings`` requires one; the demo's is the in-process demo ERP)."""
    if settings.erp is None:
        raise ValueError("no [erp] section: settings were not validated")
    return build_connector(settings.erp)


def shipping_service(settings: Settings, redis: aioredis.Redis | None) -> ShippingService:
    """The configured carriers (``Settings`` requires them; the demo's are sandboxes)."""
    config = settings.shipping
    if config is None:
        raise ValueError("no [shipping] section: settings were not validated")
    registry = CarrierRegistry.from_config(config.accounts)
    store = open_store(config.idempotency, redis=redis)
    return ShippingService.from_config(config, registry, store)


def order_service(settings: Settings, erp: ErpConnector, catalog: CatalogService,
                  store: IdempotencyStore, redis: aioredis.Redis | None) -> OrderService:
    """Orders keep their idempotency records in the label records' store; on the in-process
    demo ERP, whose orders live in memory, in a store that lives as long as the app."""
    config = settings.orders
    on_close = None
    if isinstance(settings.erp, DemoConfig):
        folder = Path(tempfile.mkdtemp(prefix="erp-gateway-demo-orders-"))
        store = owned = SqliteIdempotencyStore(folder / "orders.sqlite3")

        async def on_close() -> None:
            await owned.aclose()
            shutil.rmtree(folder, ignore_errors=True)
    records = OrderRecords(store, ttl_seconds=config.record_ttl_hours * 3600,
                           lease_seconds=config.lease_seconds)
    reservations: Reservations = (
        RedisReservations(redis, prefix=config.redis_key_prefix,
                          ttl_seconds=config.reservation_seconds,
                          wait_seconds=config.reservation_wait_seconds)
        if redis is not None else LocalReservations(config.reservation_wait_seconds))
    return OrderService(erp, catalog, records, reservations, config, on_close=on_close)
