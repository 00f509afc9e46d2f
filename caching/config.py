"""Cache configuration: freshness per data class and the knobs of both tiers."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# guards against milliseconds typed where seconds are meant
_MAX_SECONDS = 30 * 86400.0


class FreshnessPolicy(BaseModel):
    """How long an entry is fresh, then servable while revalidating, then servable on error."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    fresh_ttl: float = Field(ge=0, le=_MAX_SECONDS)
    stale_while_revalidate: float = Field(ge=0, le=_MAX_SECONDS)
    stale_if_error: float = Field(ge=0, le=_MAX_SECONDS)

    @model_validator(mode="after")
    def _keeps_something(self) -> Self:
        if self.retention <= 0:
            raise ValueError("fresh_ttl + max(stale_while_revalidate, stale_if_error) must be > 0")
        return self

    @property
    def retention(self) -> float:
        """How long an entry is kept at all (the L2 TTL)."""
        return self.fresh_ttl + max(self.stale_while_revalidate, self.stale_if_error)

    def is_fresh(self, age: float) -> bool:
        return age <= self.fresh_ttl

    def can_revalidate_in_background(self, age: float) -> bool:
        return age <= self.fresh_ttl + self.stale_while_revalidate

    def can_serve_on_error(self, age: float) -> bool:
        return age <= self.fresh_ttl + self.stale_if_error


DEFAULT_POLICIES: dict[str, FreshnessPolicy] = {
    "inventory": FreshnessPolicy(fresh_ttl=5, stale_while_revalidate=30, stale_if_error=300),
    "prices": FreshnessPolicy(fresh_ttl=60, stale_while_revalidate=300, stale_if_error=3600),
}

_NAME = r"^[A-Za-z0-9_.-]+$"
_RESERVED = frozenset({"tag", "lock"})  # L2 namespaces next to the data classes


class CacheConfig(BaseModel):
    """Both tiers' settings; ``policies`` given here are merged over the defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    l1_max_entries: int = Field(default=50_000, ge=1)
    # no ':' or glob characters: keys and SCAN patterns are built from it
    key_prefix: str = Field(default="gw", pattern=_NAME, max_length=64)
    # bump when the payload or entry layout changes; old entries are then never read
    schema_version: int = Field(default=1, ge=1)
    fill_lock_ttl: float = Field(default=2.0, gt=0, le=60)
    fill_wait: float = Field(default=0.5, ge=0, le=60)
    invalidation_channel: str = Field(default="gw:invalidate", min_length=1)
    # the gateway sets it from [redis] socket_timeout (one home for Redis timeouts)
    redis_socket_timeout: float = Field(default=0.25, gt=0, le=10)
    # after a Redis error, L2 is skipped this long before it is tried again
    l2_retry_after: float = Field(default=1.0, ge=0, le=60)
    policies: dict[str, FreshnessPolicy] = Field(default_factory=lambda: dict(DEFAULT_POLICIES))

    @field_validator("policies", mode="after")
    @classmethod
    def _merge_defaults(cls, value: dict[str, FreshnessPolicy]) -> dict[str, FreshnessPolicy]:
        for name in value:
            if not name or ":" in name or any(c.isspace() for c in name):
                raise ValueError(f"data class {name!r} must be non-empty, without ':' or spaces")
            if name in _RESERVED:
                raise ValueError(f"data class {name!r} is reserved for the cache's own keys")
        return {**DEFAULT_POLICIES, **value}

    @model_validator(mode="after")
    def _wait_within_lock(self) -> Self:
        if self.fill_wait > self.fill_lock_ttl:
            raise ValueError("fill_wait must not exceed fill_lock_ttl")
        return self

    def policy(self, data_class: str) -> FreshnessPolicy:
        try:
            return self.policies[data_class]
        except KeyError:
            raise ValueError(f"no freshness policy for data class {data_class!r}") from None
