"""The [redis] table: one of three topologies, TLS settings, one home for Redis timeouts."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from gateway.services import close_redis, redis_client
from gateway.settings import ConfigError, RedisSettings, parse_settings, replica_share_warning

AUTH = {"demo": True}


def settings(redis: dict, **extra: dict) -> object:
    return parse_settings({**AUTH, "redis": redis, **extra}, env={"REDIS_PW": "s3cret pw"})


def errors(redis: dict, **extra: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        settings(redis, **extra)
    return info.value.errors


def test_the_three_shapes_parse_and_name_their_topology() -> None:
    plain = settings({"url": "redis://127.0.0.1:6379/2"}).redis
    sentinel = settings({"sentinel": {"service": "gw-primary",
                                      "nodes": ["10.0.0.1:26379", "[::1]:26380"]},
                         "password": "${REDIS_PW}"}).redis
    cluster = settings({"cluster": {"nodes": ["redis-a.internal:7000"]}, "tls": True}).redis
    assert [plain.topology, sentinel.topology, cluster.topology] == [
        "standalone", "sentinel", "cluster"]
    assert sentinel.password.get_secret_value() == "s3cret pw"
    assert cluster.uses_tls and not plain.uses_tls


@pytest.mark.parametrize(("redis", "needle"), [
    ({}, "exactly one of url"),
    ({"url": "redis://h", "cluster": {"nodes": ["h:1"]}}, "exactly one of url"),
    ({"url": "http://h:6379"}, "redis://, rediss://"),
    ({"url": "redis://h", "tls": {"ca_file": "/ca.pem"}}, "rediss://"),
    ({"url": "rediss://h", "tls": {"cert_file": "/c.pem"}}, "cert_file and key_file"),
    ({"cluster": {"nodes": ["10.0.0.1"]}}, "host:port"),
    ({"cluster": {"nodes": ["10.0.0.1:70000"]}}, "host:port"),
    ({"cluster": {"nodes": ["h:7000"]}, "db": 3}, "only database 0"),
    ({"sentinel": {"service": "gw", "nodes": []}}, "at least 1"),
    ({"url": "redis://h", "replica_acks": 1, "replica_ack_timeout_ms": 200}, "half of"),
])
def test_bad_redis_tables_are_refused_with_the_field_named(redis: dict, needle: str) -> None:
    found = errors(redis)
    assert any(path.startswith("redis") and needle in message for path, message in found), found


def test_redis_timeouts_have_one_home() -> None:
    found = errors({"url": "redis://h"}, cache={"redis_socket_timeout": 1.0},
                   ratelimit={"redis_connect_timeout": 2.0, "route_groups": [], "plans": {}})
    assert any("cache.redis_socket_timeout, ratelimit.redis_connect_timeout" in m
               and "[redis]" in m for _, m in found), found


async def test_each_topology_builds_redis_pys_own_client() -> None:
    plain = redis_client(RedisSettings(url="redis://127.0.0.1:1/0", socket_timeout=0.3))
    tls = redis_client(RedisSettings(url="rediss://127.0.0.1:1/0", tls={
        "ca_file": "/etc/ca.pem", "cert_file": "/etc/c.pem", "key_file": "/etc/c.key"}))
    sentinel = redis_client(RedisSettings(sentinel={"service": "gw", "nodes": ["127.0.0.1:1"]}))
    cluster = redis_client(RedisSettings(cluster={"nodes": ["127.0.0.1:1"]}))
    try:
        assert isinstance(plain.connection_pool, aioredis.BlockingConnectionPool)
        assert plain.connection_pool.connection_kwargs["socket_timeout"] == 0.3
        tls_kwargs = tls.connection_pool.connection_kwargs
        assert tls.connection_pool.connection_class is aioredis.SSLConnection
        assert (tls_kwargs["ssl_ca_certs"], tls_kwargs["ssl_certfile"],
                tls_kwargs["ssl_keyfile"]) == ("/etc/ca.pem", "/etc/c.pem", "/etc/c.key")
        assert isinstance(sentinel.connection_pool, SentinelConnectionPool)
        # bursts wait for a connection on Sentinel too
        assert isinstance(sentinel.connection_pool, aioredis.BlockingConnectionPool)
        assert isinstance(cluster, RedisCluster)
    finally:
        for client in (plain, tls, sentinel, cluster):
            await close_redis(client)


@pytest.mark.parametrize(("replicas", "workers", "warned"), [
    (6, 2, False), (4, 4, False), (1, 1, False), (1, 2, True), (5, 2, True)])
def test_a_share_that_cannot_be_hosts_times_workers_is_warned(replicas, workers, warned):
    message = replica_share_warning(replicas, workers)
    assert (message is not None) == warned
    if message:
        assert "hosts x workers" in message
