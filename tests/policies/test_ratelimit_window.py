"""Sliding-window arithmetic and the in-process fallback counter (no Redis needed)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from policies.ratelimit import LocalWindows, PlanConfig, RateLimitConfig, RouteGroup, Window
from policies.ratelimit.leases import refund_bucket
from policies.ratelimit.redis_store import CURRENT, PREVIOUS


class FakeClock:
    def __init__(self, now: float = 1_000_020.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_window_counts_the_previous_bucket_by_its_remaining_weight() -> None:
    window = Window(previous=10, previous_ttl=30, current=2, current_ttl=90, expiry=60)
    assert window.used() == 7
    assert window.remaining(10) == 3
    assert window.roll_in() == 30


def test_reset_is_when_the_previous_bucket_next_loses_a_whole_unit() -> None:
    # 10 x 30/60 = 5.0 -> drops to 4 as soon as the weight decays (just after 0 s)
    assert Window(10, 30, 0, 90, 60).reset_after() == pytest.approx(0.0)
    # 10 x 33/60 = 5.5 -> floor 5, becomes 4.x once previous_ttl < 30 s: in 3 s
    assert Window(10, 33, 0, 93, 60).reset_after() == pytest.approx(3.0)
    # only the current bucket: nothing frees up until it rolls over
    assert Window(0, 0, 4, 100, 60).reset_after() == pytest.approx(40.0)
    assert Window(0, 0, 0, 0, 60).reset_after() == 0.0


def test_retry_after_when_the_current_bucket_alone_is_full() -> None:
    window = Window(previous=0, previous_ttl=0, current=10, current_ttl=100, expiry=60)
    # rolls in 40 s; then 10 x ttl/60 must fall below 10: immediately after the roll
    assert window.retry_after(10) == pytest.approx(40.0)
    over = Window(previous=0, previous_ttl=0, current=20, current_ttl=100, expiry=60)
    # after the roll, 20 x ttl/60 < 10 needs ttl < 30: another 30 s
    assert over.retry_after(10) == pytest.approx(70.0)


def test_retry_after_when_the_previous_bucket_is_in_the_way() -> None:
    window = Window(previous=10, previous_ttl=45, current=3, current_ttl=105, expiry=60)
    # used = floor(7.5) + 3 = 10; need floor(10 x ttl/60) <= 6, i.e. ttl < 42 s: 3 s
    assert window.used() == 10
    assert window.retry_after(10) == pytest.approx(3.0)
    assert window.retry_after(11) == 0.0


def test_local_windows_admit_up_to_the_limit_and_count_no_rejection() -> None:
    clock = FakeClock(600.0)  # aligned to a 60 s window start
    local = LocalWindows(clock)
    results = [local.acquire("k", 10, 60)[0] for _ in range(15)]
    assert results.count(True) == 10
    clock.now += 90  # half-way through the next window: previous weighs 0.5
    admitted = [local.acquire("k", 10, 60)[0] for _ in range(10)]
    # had the 5 rejections counted, previous = 15 -> floor(7.5) = 7 -> only 3 more
    assert admitted.count(True) == 5


def test_local_windows_forget_keys_two_windows_old() -> None:
    clock = FakeClock(0.0)
    local = LocalWindows(clock)
    local.acquire("a", 1, 60)
    clock.now += 121
    allowed, window = local.acquire("a", 1, 60)
    assert allowed and window.previous == 0


def test_refunds_land_in_the_bucket_that_holds_the_units() -> None:
    assert refund_bucket(now=10.0, rolls_at=40.0, expiry=60) == CURRENT
    assert refund_bucket(now=45.0, rolls_at=40.0, expiry=60) == PREVIOUS
    assert refund_bucket(now=40.1, rolls_at=40.0, expiry=60) is None  # at the boundary
    assert refund_bucket(now=101.0, rolls_at=40.0, expiry=60) is None  # expired


GROUPS = [RouteGroup(name="inventory", path_prefixes=["/*/inventory"])]


def test_plan_limiting_an_unknown_group_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="plan 'gold' limits unknown route group"):
        RateLimitConfig(plans={"gold": PlanConfig(limits={"labels": "5/second"})},
                        route_groups=GROUPS)


def test_unknown_default_plan_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="default_plan 'platinum' is not a configured plan"):
        RateLimitConfig(plans={"gold": PlanConfig()}, route_groups=GROUPS,
                        default_plan="platinum")


@pytest.mark.parametrize("text", ["lots/minute", "10/second;100/minute", "0/minute"])
def test_unparseable_limits_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="group 'inventory'"):
        PlanConfig(limits={"inventory": text})


def test_config_rejects_unknown_fields_and_duplicate_groups() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        RateLimitConfig.model_validate({"plans": {}, "route_groups": [], "burst": 3})
    with pytest.raises(ValidationError, match="duplicate route group names: inventory"):
        RateLimitConfig(plans={}, route_groups=GROUPS * 2)
    with pytest.raises(ValidationError, match="must start with '/'"):
        RouteGroup(name="x", path_prefixes=["inventory"])


def test_config_loads_from_a_toml_shaped_mapping() -> None:
    import tomllib

    doc = tomllib.loads("""
        [ratelimit]
        mode = "synced"
        replicas = 3
        default_plan = "basic"

        [[ratelimit.route_groups]]
        name = "inventory"
        path_prefixes = ["/*/inventory", "/*/availability"]
        methods = ["get"]

        [ratelimit.plans.basic.limits]
        inventory = "100/minute"
    """)
    config = RateLimitConfig.model_validate(doc["ratelimit"])
    assert config.route_groups[0].methods == ["GET"]
    assert config.plans["basic"].items()["inventory"].amount == 100
    assert config.sync_interval == 0.1


def test_public_surface_is_pinned() -> None:
    import policies.ratelimit as ratelimit

    assert sorted(ratelimit.__all__) == [
        "Decision", "LocalWindows", "PlanConfig", "RateLimitConfig", "RateLimitGate",
        "RateLimitMiddleware",
        "RateLimitedPrincipal", "RateLimiter", "RedisCounters", "RedisUnavailable", "RouteGroup",
        "Window", "limit_key", "parse_limit",
    ]
    for name in ratelimit.__all__:
        assert hasattr(ratelimit, name)
