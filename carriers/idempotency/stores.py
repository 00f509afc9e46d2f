"""Opens the configured label store (SQLite or Redis)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from carriers.config import IdempotencyConfig
from carriers.idempotency.records import IdempotencyStore

if TYPE_CHECKING:
    from redis.asyncio import Redis


def open_store(config: IdempotencyConfig, *, redis: Redis | None = None) -> IdempotencyStore:
    """The configured store; the Redis one borrows the gateway's client."""
    label_ttl = config.label_ttl_days * 86400
    if config.backend == "redis":
        if redis is None:
            raise ValueError("shipping.idempotency.backend = 'redis' needs a Redis client")
        from carriers.idempotency.redis_store import RedisIdempotencyStore

        return RedisIdempotencyStore(redis, prefix=config.redis_key_prefix,
                                     label_ttl_seconds=label_ttl)
    from carriers.idempotency.sqlite_store import SqliteIdempotencyStore

    return SqliteIdempotencyStore(config.sqlite_path, label_ttl_seconds=label_ttl)
