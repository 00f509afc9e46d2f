"""The ``[redis]`` table: which Redis topology a replica talks to, and every Redis timeout.

Exactly one of three shapes::

    [redis]                                   # one server (redis://) or TLS (rediss://)
    url = "rediss://gw:${REDIS_PASSWORD}@redis.internal:6380/0"
    [redis.tls]                               # only with rediss://
    ca_file = "/etc/gateway/redis-ca.pem"
    cert_file = "/etc/gateway/redis-client.pem"   # client certificate, if the server asks
    key_file = "/etc/gateway/redis-client.key"

    [redis.sentinel]                          # a primary found through Redis Sentinel
    service = "gw-primary"
    nodes = ["10.0.0.11:26379", "10.0.0.12:26379", "10.0.0.13:26379"]

    [redis.cluster]                           # Redis Cluster, from any seed nodes
    nodes = ["10.0.1.11:6379", "10.0.1.12:6379", "10.0.1.13:6379"]

Sentinel and Cluster take ``username``/``password`` (of the data nodes) and
``tls`` in the ``[redis]`` table itself. The timeouts here are the only Redis timeouts:
the cache's and the rate limiter's are derived from them (``gateway.settings``).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_ADDRESS = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>\d{1,5})")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into a pair; anything else is a ValueError."""
    match = _ADDRESS.fullmatch(text)
    port = int(match.group("port")) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ValueError(f"{text!r} is not host:port (IPv6 as [addr]:port)")
    return match.group("v6") or match.group("host"), port


def _addresses(nodes: list[str]) -> list[str]:
    for node in nodes:
        parse_address(node)
    return nodes


class RedisTls(_Section):
    """Server verification and an optional client certificate (mutual TLS)."""

    # CA bundle that signed the server's certificate; the system store when absent
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    key_password: SecretStr | None = None
    check_hostname: bool = True

    @model_validator(mode="after")
    def _pair(self) -> RedisTls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate and "
                             "its key)")
        return self


class RedisSentinel(_Section):
    service: str = Field(min_length=1)
    nodes: list[str] = Field(min_length=1)
    # the sentinels' own credentials, when they differ from the data nodes'
    username: str | None = None
    password: SecretStr | None = None

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: list[str]) -> list[str]:
        return _addresses(nodes)


class RedisClusterNodes(_Section):
    # seed nodes: any reachable one reveals the rest of the cluster
    nodes: list[str] = Field(min_length=1)

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, nodes: list[str]) -> list[str]:
        return _addresses(nodes)


class RedisSettings(_Section):
    url: str | None = None
    sentinel: RedisSentinel | None = None
    cluster: RedisClusterNodes | None = None
    # credentials of the data nodes (a url may carry them itself)
    username: str | None = None
    password: SecretStr | None = None
    db: int = Field(default=0, ge=0, le=15)
    tls: RedisTls | bool = False
    # short: a slow Redis must cost a request milliseconds, never seconds
    socket_timeout: float = Field(default=0.25, gt=0, le=10)
    # a new connection pays a handshake (TLS: more), so it gets a little longer
    connect_timeout: float = Field(default=0.5, gt=0, le=10)
    # per replica, per node (Cluster), shared by cache, rate limits and label records
    max_connections: int = Field(default=64, ge=4, le=10_000)
    # how long a request waits for a free pooled connection
    pool_timeout: float = Field(default=1.0, gt=0, le=30)
    # label records: WAIT for this many replicas to acknowledge each write (0: don't wait)
    replica_acks: int = Field(default=0, ge=0, le=16)
    # WAIT shares the command's socket timeout: keep it well inside socket_timeout
    replica_ack_timeout_ms: int = Field(default=100, ge=1, le=10_000)

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"Redis url must be redis://, rediss:// or unix://, got {url!r}")
        return url

    @model_validator(mode="after")
    def _one_topology(self) -> RedisSettings:
        given = [n for n in ("url", "sentinel", "cluster") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of url, [redis.sentinel] or [redis.cluster]"
                             f" (got {', '.join(given) or 'none'})")
        if self.url is not None:
            if self.tls and urlsplit(self.url).scheme != "rediss":
                raise ValueError("TLS settings need a rediss:// url")
            if self.db:
                raise ValueError("put the database number in the url (redis://host/2)")
        if self.cluster is not None and self.db:
            raise ValueError("Redis Cluster has only database 0")
        if self.replica_acks and self.replica_ack_timeout_ms > self.socket_timeout * 500:
            raise ValueError(f"replica_ack_timeout_ms ({self.replica_ack_timeout_ms}) must be at "
                             f"most half of socket_timeout ({self.socket_timeout:g} s): WAIT "
                             "runs within the command's socket timeout")
        return self

    @property
    def topology(self) -> Literal["standalone", "sentinel", "cluster"]:
        if self.sentinel is not None:
            return "sentinel"
        return "cluster" if self.cluster is not None else "standalone"

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls) or (self.url is not None and self.url.startswith("rediss://"))

    @property
    def tls_options(self) -> RedisTls:
        return self.tls if isinstance(self.tls, RedisTls) else RedisTls()

    @property
    def deadline(self) -> float:
        """Longest one request may wait on Redis: connect, then two commands."""
        return self.connect_timeout + 2 * self.socket_timeout
