"""What a running gateway holds, and how each long-lived part is built from ``Settings``.

``create_app`` builds them once; a handler names the services it uses as parameters
(``catalog``, ``shipping`` …, see ``gateway.dispatch``) and they are bound when the app is
assembled, never looked up per request.

One Redis client per replica serves the cache, the rate limiter and the label store
(commands); the cache's invalidation subscriber takes its pub/sub connection from the
same client. Its timeouts come from ``[redis]`` alone: the cache's and the limiter's
operation budgets are derived from them here.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from caching import CacheConfig, TieredCache
from carriers.idempotency import IdempotencyStore, open_store
from carriers.idempotency.redis_store import RedisIdempotencyStore
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService
from gateway.catalog import CatalogService
from gateway.erp import build_connector
from gateway.erp.base import ErpConnector
from gateway.erp.counting import CountingConnector
from gateway.erp.demo import DemoConfig
from gateway.observability.ops import Operations
from gateway.observability.reload import Reloader
from gateway.orders.records import OrderRecords
from gateway.orders.reservations import LocalReservations, RedisReservations, Reservations
from gateway.orders.service import OrderService
from gateway.redis_settings import RedisSettings, parse_address
from gateway.routes.contracts import Contracts
from gateway.routes.health import ReadinessProbe
from gateway.settings import Settings, WebhookSource
from policies.auth import AuthComponents
from policies.limits import InputLimits
from policies.ratelimit import RateLimiter

log = logging.getLogger("gateway")

RedisClient = aioredis.Redis | RedisCluster


def _tls_options(config: RedisSettings) -> dict[str, Any]:
    if not config.uses_tls:
        return {}
    tls = config.tls_options
    options: dict[str, Any] = {"ssl_cert_reqs": "required",
                               "ssl_check_hostname": tls.check_hostname}
    if tls.ca_file:
        options["ssl_ca_certs"] = tls.ca_file
    if tls.cert_file:
        options["ssl_certfile"] = tls.cert_file
        options["ssl_keyfile"] = tls.key_file
    if tls.key_password is not None:
        options["ssl_password"] = tls.key_password.get_secret_value()
    return options


def _common(config: RedisSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_timeout": config.socket_timeout,
        "socket_connect_timeout": config.connect_timeout,
        # one immediate retry on a broken connection (a restarted server's stale socket)
        "retry": Retry(NoBackoff(), 1),
        "retry_on_error": [RedisConnectionError],
    }
    if config.username:
        options["username"] = config.username
    if config.password is not None:
        options["password"] = config.password.get_secret_value()
    return options


def redis_client(config: RedisSettings) -> RedisClient:
    """The replica's one Redis client for ``config``'s topology; it connects lazily."""
    if config.cluster is not None:
        return _cluster(config)
    if config.sentinel is not None:
        return _sentinel(config)
    assert config.url is not None  # RedisSettings allows exactly one topology
    options = _common(config)
    if config.url.startswith("rediss://"):
        options.update(_tls_options(config))
    # a blocking pool: bursts (200 concurrent label buys) wait for a connection instead of failing
    pool = aioredis.BlockingConnectionPool.from_url(
        config.url, max_connections=config.max_connections, timeout=config.pool_timeout,
        health_check_interval=30, **options)
    # from_pool: closing the client closes the pool too
    return aioredis.Redis.from_pool(pool)


class BlockingSentinelPool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The Sentinel-managed pool, waiting for a free connection as the plain one does."""


def _sentinel(config: RedisSettings) -> aioredis.Redis:
    sentinel_config = config.sentinel
    assert sentinel_config is not None
    tls = {**_tls_options(config), "ssl": True} if config.uses_tls else {}
    own: dict[str, Any] = {"socket_timeout": config.socket_timeout,
                           "socket_connect_timeout": config.connect_timeout, **tls}
    if sentinel_config.username:
        own["username"] = sentinel_config.username
    if sentinel_config.password is not None:
        own["password"] = sentinel_config.password.get_secret_value()
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # unannotated upstream
        [parse_address(a) for a in sentinel_config.nodes],
        sentinel_kwargs=own, **_common(config), **tls)
    # the pool asks the sentinels for the primary on every new connection, so a promoted
    # replica is found without a restart; a demoted primary's READONLY drops the connection
    primary = sentinel.master_for(sentinel_config.service, db=config.db,
                                  connection_pool_class=BlockingSentinelPool,
                                  max_connections=config.max_connections,
                                  timeout=config.pool_timeout, health_check_interval=30)
    return cast(aioredis.Redis, primary)


async def close_redis(client: RedisClient) -> None:
    """Close the client, and for Sentinel the connections to the sentinels it asked."""
    await client.aclose()
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def _cluster(config: RedisSettings) -> RedisCluster:
    cluster_config = config.cluster
    assert cluster_config is not None
    options = _common(config)
    options.update(_tls_options(config))
    if config.uses_tls:
        options["ssl"] = True
    # MOVED/ASK and a lost node are retried against the refreshed slot map; the backoff
    # spreads those retries over the ~1-2 s a replica takes to be promoted
    options["retry"] = Retry(ExponentialBackoff(cap=0.2, base=0.02), 3,
                             supported_errors=(RedisConnectionError, RedisTimeoutError))
    options.pop("retry_on_error")
    return RedisCluster(
        startup_nodes=[ClusterNode(*parse_address(a)) for a in cluster_config.nodes],
        max_connections=config.max_connections,
        # a slot whose master is gone fails alone; the other slots keep answering
        require_full_coverage=False,
        **options)


def cache_config(settings: Settings) -> CacheConfig:
    """The cache's settings with its Redis budget taken from ``[redis]``."""
    if settings.redis is None:
        return settings.cache
    return settings.cache.model_copy(
        update={"redis_socket_timeout": settings.redis.socket_timeout})


def rate_limiter(settings: Settings, redis: RedisClient | None) -> RateLimiter:
    """The replica's limiter, counting on the shared client (or local shares without one)."""
    if redis is None or settings.redis is None:
        return RateLimiter.local(settings.ratelimit)
    return RateLimiter.from_client(settings.ratelimit, redis, deadline=settings.redis.deadline)


def erp_connector(settings: Settings) -> ErpConnector:
    """The configured ERP (``Settings`` requires one; the demo's is the in-process demo ERP)."""
    if settings.erp is None:
        raise ValueError("no [erp] section: settings were not validated")
    return build_connector(settings.erp)


def shipping_service(settings: Settings, redis: RedisClient | None) -> ShippingService:
    """The configured carriers (``Settings`` requires them; the demo's are sandboxes)."""
    config = settings.shipping
    if config is None:
        raise ValueError("no [shipping] section: settings were not validated")
    registry = CarrierRegistry.from_config(config.accounts)
    # RedisCluster offers the same single-key commands the label store uses
    store = open_store(config.idempotency, redis=cast(aioredis.Redis | None, redis))
    if isinstance(store, RedisIdempotencyStore) and settings.redis and settings.redis.replica_acks:
        store.require_replicas(settings.redis.replica_acks, settings.redis.replica_ack_timeout_ms)
    return ShippingService.from_config(config, registry, store)


def order_service(settings: Settings, erp: ErpConnector, catalog: CatalogService,
                  store: IdempotencyStore, redis: RedisClient | None) -> OrderService:
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
        # its keys share one hash tag and its scripts touch only those: fine on Cluster
        RedisReservations(cast(aioredis.Redis, redis), prefix=config.redis_key_prefix,
                          ttl_seconds=config.reservation_seconds,
                          wait_seconds=config.reservation_wait_seconds)
        if redis is not None else LocalReservations(config.reservation_wait_seconds))
    return OrderService(erp, catalog, records, reservations, config, on_close=on_close)


@dataclass
class Services:
    settings: Settings
    # every connector is wrapped so that its calls are counted the same way
    erp: CountingConnector
    catalog: CatalogService
    orders: OrderService
    shipping: ShippingService
    cache: TieredCache
    limiter: RateLimiter
    auth: AuthComponents
    readiness: ReadinessProbe
    # metrics, traces, logs, the worker's control (drain, reload)
    ops: Operations
    reloader: Reloader
    contracts: Contracts
    limits: InputLimits
    webhooks: dict[str, WebhookSource]
    redis: Any = None


__all__ = [
    "BlockingSentinelPool",
    "Services",
    "cache_config",
    "close_redis",
    "erp_connector",
    "order_service",
    "rate_limiter",
    "redis_client",
    "shipping_service",
]
