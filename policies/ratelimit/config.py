"""Rate-limit configuration: plans, route groups and the Redis/sync knobs, validated at load."""

from __future__ import annotations

import re
from typing import Literal

from limits import RateLimitItem, parse_many
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_METHOD = re.compile(r"^[A-Z]+$")


def parse_limit(text: str) -> RateLimitItem:
    """Parse one ``"100/minute"``-style limit; several limits in one string are refused."""
    try:
        items = parse_many(text)
    except ValueError as exc:
        raise ValueError(f"invalid rate limit {text!r}: {exc}") from exc
    if len(items) != 1:
        raise ValueError(f"one limit per route group, got {text!r}")
    if items[0].amount < 1:
        raise ValueError(f"a limit must allow at least one request, got {text!r}")
    return items[0]


class RouteGroup(BaseModel):
    """Requests whose path starts with one of ``path_prefixes`` (``*`` matches one segment)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    path_prefixes: list[str] = Field(min_length=1)
    methods: list[str] | None = None

    @field_validator("path_prefixes")
    @classmethod
    def _absolute(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            if not prefix.startswith("/"):
                raise ValueError(f"path prefix {prefix!r} must start with '/'")
        return prefixes

    @field_validator("methods")
    @classmethod
    def _upper(cls, methods: list[str] | None) -> list[str] | None:
        if methods is None:
            return None
        upper = [m.upper() for m in methods]
        for method in upper:
            if not _METHOD.fullmatch(method):
                raise ValueError(f"invalid HTTP method {method!r}")
        return upper


class PlanConfig(BaseModel):
    """Limits per route group, e.g. ``{"inventory": "100/minute"}``; absent group = unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: dict[str, str] = Field(default_factory=dict)

    @field_validator("limits")
    @classmethod
    def _parseable(cls, limits: dict[str, str]) -> dict[str, str]:
        for group, text in limits.items():
            try:
                parse_limit(text)
            except ValueError as exc:
                raise ValueError(f"group {group!r}: {exc}") from exc
        return limits

    def items(self) -> dict[str, RateLimitItem]:
        return {group: parse_limit(text) for group, text in self.limits.items()}


class RateLimitConfig(BaseModel):
    """The ``[ratelimit]`` table.

    ``mode="synced"`` admits against allowances reserved from Redis in chunks (no Redis
    round trip on most requests); ``mode="strict"`` asks Redis on every request.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["synced", "strict"] = "synced"
    plans: dict[str, PlanConfig]
    # path-prefix groups for the middleware used on its own; the gateway takes its groups
    # from the operation table and leaves this empty
    route_groups: list[RouteGroup] = []
    default_plan: str | None = None
    # every process sharing these limits: hosts x workers; without Redis each one enforces
    # limit // replicas, so the fleet admits about the limit and never more
    replicas: int = Field(default=1, ge=1, le=1000)
    # standalone use only: the gateway takes these from its [redis] table
    redis_socket_timeout: float = Field(default=0.1, gt=0, le=5)
    redis_connect_timeout: float = Field(default=0.5, gt=0, le=10)
    redis_max_connections: int = Field(default=32, ge=1, le=10_000)
    redis_probe_interval: float = Field(default=2.0, gt=0, le=300)
    sync_interval_ms: int = Field(default=100, ge=10, le=10_000)
    lease_fraction: float = Field(default=0.05, gt=0, le=0.5)
    key_prefix: str = Field(default="gw-rl", pattern=_NAME)

    @model_validator(mode="after")
    def _references(self) -> RateLimitConfig:
        names = [group.name for group in self.route_groups]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate route group names: {', '.join(duplicates)}")
        for plan_name, plan in self.plans.items():
            if not names:  # groups named elsewhere (the gateway's operation table)
                break
            unknown = sorted(set(plan.limits) - set(names))
            if unknown:
                raise ValueError(
                    f"plan {plan_name!r} limits unknown route group(s) {', '.join(unknown)}; "
                    f"known: {', '.join(names) or '(none)'}"
                )
        if self.default_plan is not None and self.default_plan not in self.plans:
            raise ValueError(
                f"default_plan {self.default_plan!r} is not a configured plan; "
                f"known: {', '.join(sorted(self.plans)) or '(none)'}"
            )
        return self

    @property
    def sync_interval(self) -> float:
        return self.sync_interval_ms / 1000

    @property
    def deadline(self) -> float:
        """Longest one decision may wait on Redis: connect, then two commands."""
        return self.redis_connect_timeout + 2 * self.redis_socket_timeout
