from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.breaker import BreakerState
from carriers.config import FallbackRule
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.models import MessageLevel, Rate, RateSource, ServiceLevel
from carriers.sandbox import SandboxCarrier, SandboxOptions
from carriers.service import ShippingService, tag_rates
from tests.carriers.factories import account, rate_request, rule, service

RULES = [
    rule("ground", "11.00", transit_days=4),
    rule("express", "29.00", service_level=ServiceLevel.EXPEDITED, transit_days=2),
]


def sandbox(account_id: str, **options: object) -> SandboxCarrier:
    return SandboxCarrier(account_id, SandboxOptions.model_validate(options))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteIdempotencyStore]:
    store = SqliteIdempotencyStore(tmp_path / "labels.sqlite3")
    try:
        yield store
    finally:
        await store.aclose()


def two_carriers(primary: SandboxCarrier, store: SqliteIdempotencyStore,
                 rules: list[FallbackRule] = RULES, **kw: float) -> tuple[ShippingService,
                                                                         SandboxCarrier]:
    backup = sandbox("backup", currency="USD")
    shipping = service([
        (account("primary", timeout=kw.get("timeout", 8), minimum_calls=3), primary),
        (account("backup"), backup),
    ], store, rules=rules)
    return shipping, backup


def by_source(rates: list[Rate]) -> dict[RateSource, set[str]]:
    grouped: dict[RateSource, set[str]] = {}
    for rate in rates:
        grouped.setdefault(rate.source, set()).add(rate.carrier_account)
    return grouped


async def test_healthy_carriers_return_tagged_live_rates(store: SqliteIdempotencyStore) -> None:
    shipping, _ = two_carriers(sandbox("primary"), store)
    result = await shipping.rate_shop(rate_request())
    assert by_source(result.rates) == {RateSource.LIVE: {"primary", "backup"}}
    assert result.messages == []
    for name in ("cheapest", "fastest", "best_value"):
        assert sum(name in r.tags for r in result.rates) == 1
    amounts = [r.amount for r in result.rates]
    assert amounts == sorted(amounts)


async def test_hanging_primary_trips_its_breaker_and_rates_come_back_via_fallback(
        store: SqliteIdempotencyStore) -> None:
    primary = sandbox("primary", hang=True)
    shipping, backup = two_carriers(primary, store, timeout=0.02)

    for _ in range(3):  # minimum_calls timeouts open the breaker
        result = await shipping.rate_shop(rate_request())
        fallback = [r for r in result.rates if r.source is RateSource.FALLBACK]
        assert {(r.carrier_account, r.fallback_reason) for r in fallback} == {
            ("primary", "timeout")}
    assert primary.calls["rate"] == 3
    assert shipping.registry.get("primary").breaker.state is BreakerState.OPEN

    for _ in range(5):
        result = await shipping.rate_shop(rate_request())
        fallback = [r for r in result.rates if r.source is RateSource.FALLBACK]
        live = [r for r in result.rates if r.source is RateSource.LIVE]
        assert {r.service for r in fallback} == {"ground", "express"}
        assert {(r.carrier, r.carrier_account, r.fallback_reason) for r in fallback} == {
            ("sandbox", "primary", "breaker_open")}
        assert {r.carrier_account for r in live} == {"backup"} and len(live) == 4
        codes = {m.code for m in result.messages}
        assert {"breaker_open", "fallback_rates"} <= codes
        assert all(m.level is MessageLevel.WARNING for m in result.messages)
    assert primary.calls["rate"] == 3  # the open breaker keeps the hanging carrier out
    assert backup.calls["rate"] == 8
    snapshot = shipping.registry.get("primary").breaker.snapshot()
    assert snapshot.rejected == 5
    counters = shipping.counters.snapshot()
    assert (counters["rate_shops"], counters["fallbacks_used"]) == (8, 8)
    assert counters["fallback_rates"] == 16


async def test_carrier_5xx_gets_fallback_rates_with_warnings(
        store: SqliteIdempotencyStore) -> None:
    shipping, _ = two_carriers(sandbox("primary", fail_with="5xx"), store)
    result = await shipping.rate_shop(rate_request())
    fallback = [r for r in result.rates if r.source is RateSource.FALLBACK]
    assert {r.fallback_reason for r in fallback} == {"carrier_unavailable"}
    http = [m for m in result.messages if m.code == "http_503"]
    assert len(http) == 1 and http[0].level is MessageLevel.WARNING


async def test_carrier_4xx_gives_its_messages_and_no_fallback(
        store: SqliteIdempotencyStore) -> None:
    shipping, _ = two_carriers(sandbox("primary", fail_with="4xx"), store)
    result = await shipping.rate_shop(rate_request())
    assert by_source(result.rates) == {RateSource.LIVE: {"backup"}}
    assert [(m.code, m.level) for m in result.messages] == [
        ("invalid_request", MessageLevel.ERROR)]
    assert shipping.counters.fallbacks_used == 0
    assert shipping.registry.get("primary").breaker.snapshot().failures == 0


async def test_unavailable_carrier_without_a_matching_row_gets_only_a_message(
        store: SqliteIdempotencyStore) -> None:
    shipping, _ = two_carriers(sandbox("primary", fail_with="5xx"), store,
                               rules=[rule(country="CA")])
    result = await shipping.rate_shop(rate_request())
    assert by_source(result.rates) == {RateSource.LIVE: {"backup"}}
    assert "no_fallback_rates" in {m.code for m in result.messages}


async def test_rate_shop_asks_only_the_requested_carriers(
        store: SqliteIdempotencyStore) -> None:
    primary = sandbox("primary")
    shipping, backup = two_carriers(primary, store)
    result = await shipping.rate_shop(rate_request(carriers=["backup", "pigeon"]))
    assert by_source(result.rates) == {RateSource.LIVE: {"backup"}}
    assert primary.calls["rate"] == 0
    assert [m.code for m in result.messages] == ["not_configured"]


async def test_rate_shop_for_a_warehouse_without_carriers_says_so(
        store: SqliteIdempotencyStore) -> None:
    shipping, _ = two_carriers(sandbox("primary"), store)
    result = await shipping.rate_shop(rate_request(warehouse="WH9"))
    assert result.rates == []
    assert [m.code for m in result.messages] == ["no_carriers"]


async def test_each_carrier_call_is_bounded_by_the_rate_shop_deadline(
        store: SqliteIdempotencyStore) -> None:
    primary = sandbox("primary", hang=True)
    shipping = service([(account("primary", timeout=8), primary)], store, rules=RULES,
                       deadline=0.02)
    result = await shipping.rate_shop(rate_request())
    assert {r.fallback_reason for r in result.rates} == {"timeout"}
    assert primary.calls["rate"] == 1


def live(account_id: str, amount: str, days: int | None, currency: str = "USD",
         source: RateSource = RateSource.LIVE) -> Rate:
    return Rate(carrier="sandbox", carrier_account=account_id, service=f"svc-{amount}",
                service_level=ServiceLevel.GROUND, amount=Decimal(amount), currency=currency,
                estimated_transit_days=days, source=source,
                fallback_reason="timeout" if source is RateSource.FALLBACK else None)


def tags_of(rates: list[Rate]) -> dict[str, list[str]]:
    return {r.service: list(r.tags) for r in rates if r.tags}


def test_best_value_is_the_cheapest_within_one_day_of_the_fastest() -> None:
    rates, notes = tag_rates([
        live("a", "5.00", 6), live("a", "9.00", 2), live("b", "30.00", 1), live("b", "12.00", 3),
    ])
    assert tags_of(rates) == {
        "svc-5.00": ["cheapest"], "svc-30.00": ["fastest"], "svc-9.00": ["best_value"]}
    assert notes == []


def test_one_rate_can_carry_several_tags_and_zero_day_transit_counts() -> None:
    rates, _ = tag_rates([live("a", "5.00", 0), live("a", "9.00", None)])
    assert tags_of(rates) == {"svc-5.00": ["cheapest", "fastest", "best_value"]}


def test_without_transit_estimates_best_value_is_the_cheapest() -> None:
    rates, _ = tag_rates([live("a", "7.00", None), live("a", "6.00", None)])
    assert tags_of(rates) == {"svc-6.00": ["cheapest", "best_value"]}


def test_tags_prefer_live_rates_over_table_estimates() -> None:
    rates, _ = tag_rates([live("a", "4.00", 1, source=RateSource.FALLBACK), live("b", "8.00", 3)])
    assert tags_of(rates) == {"svc-8.00": ["cheapest", "fastest", "best_value"]}
    only_fallback, _ = tag_rates([live("a", "4.00", 1, source=RateSource.FALLBACK)])
    assert only_fallback[0].tags == ["cheapest", "fastest", "best_value"]


def test_tags_compare_the_most_common_currency_and_say_so() -> None:
    rates, notes = tag_rates([live("a", "3.00", 1, "EUR"), live("b", "8.00", 2),
                              live("b", "9.00", 4)])
    assert tags_of(rates) == {"svc-8.00": ["cheapest", "fastest", "best_value"]}
    assert [(n.code, n.level) for n in notes] == [("mixed_currencies", MessageLevel.INFO)]
    assert "EUR" in notes[0].message
