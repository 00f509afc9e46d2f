from __future__ import annotations

import pytest
from pydantic import ValidationError

from caching import CacheConfig, FreshnessPolicy


def test_defaults_cover_inventory_and_prices() -> None:
    config = CacheConfig()
    assert config.policy("inventory") == FreshnessPolicy(
        fresh_ttl=5, stale_while_revalidate=30, stale_if_error=300)
    assert config.policy("prices") == FreshnessPolicy(
        fresh_ttl=60, stale_while_revalidate=300, stale_if_error=3600)
    assert config.policy("prices").retention == 3660
    assert (config.l1_max_entries, config.key_prefix, config.schema_version) == (50_000, "gw", 1)
    assert (config.fill_lock_ttl, config.fill_wait) == (2.0, 0.5)
    assert (config.invalidation_channel, config.redis_socket_timeout) == ("gw:invalidate", 0.25)


def test_given_policies_are_merged_over_the_defaults() -> None:
    config = CacheConfig.model_validate({"policies": {
        "inventory": {"fresh_ttl": 2, "stale_while_revalidate": 10, "stale_if_error": 60},
        "carrier_rates": {"fresh_ttl": 600, "stale_while_revalidate": 60, "stale_if_error": 0},
    }})
    assert config.policy("inventory").fresh_ttl == 2
    assert config.policy("prices").fresh_ttl == 60
    assert config.policy("carrier_rates").retention == 660


def test_policy_windows() -> None:
    policy = FreshnessPolicy(fresh_ttl=5, stale_while_revalidate=30, stale_if_error=300)
    assert policy.is_fresh(5) and not policy.is_fresh(5.01)
    assert policy.can_revalidate_in_background(35) and not policy.can_revalidate_in_background(36)
    assert policy.can_serve_on_error(305) and not policy.can_serve_on_error(306)


@pytest.mark.parametrize("fields", [
    {"fresh_ttl": -1, "stale_while_revalidate": 0, "stale_if_error": 0},
    {"fresh_ttl": 0, "stale_while_revalidate": 0, "stale_if_error": 0},
    {"fresh_ttl": float("inf"), "stale_while_revalidate": 0, "stale_if_error": 0},
    {"fresh_ttl": float("nan"), "stale_while_revalidate": 0, "stale_if_error": 0},
    {"fresh_ttl": 5_000_000, "stale_while_revalidate": 0, "stale_if_error": 0},
    {"fresh_ttl": 5, "stale_while_revalidate": 0},
    {"fresh_ttl": 5, "stale_while_revalidate": 0, "stale_if_error": 0, "max_age": 1},
])
def test_bad_policies_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        FreshnessPolicy.model_validate(fields)


@pytest.mark.parametrize("fields", [
    {"key_prefix": "gw:cache"},
    {"key_prefix": "gw*"},
    {"key_prefix": ""},
    {"schema_version": 0},
    {"l1_max_entries": 0},
    {"fill_wait": 3.0, "fill_lock_ttl": 2.0},
    {"redis_socket_timeout": 0},
    {"policies": {"bad name": {"fresh_ttl": 1, "stale_while_revalidate": 0,
                               "stale_if_error": 0}}},
    {"policies": {"tag": {"fresh_ttl": 1, "stale_while_revalidate": 0, "stale_if_error": 0}}},
    {"unknown": 1},
])
def test_bad_cache_configs_are_refused_with_the_field_named(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as exc:
        CacheConfig.model_validate(fields)
    assert exc.value.errors()


def test_unknown_data_class_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no freshness policy for data class 'shipping'"):
        CacheConfig().policy("shipping")
