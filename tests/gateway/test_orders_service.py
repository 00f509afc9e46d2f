"""The order service on the demo ERP: once per key, no oversell, prices as the ERP's."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from carriers.idempotency import RecordState, fingerprint
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from gateway.erp.base import ErpTimeout, OrderNotFound, OrderState
from gateway.orders.records import OrderRecords
from policies.problems import Conflict, Unprocessable
from tests.support.orders import (
    LosesAnswers,
    YieldingDemo,
    available,
    new_order,
    order_request,
    order_service,
    stocked,
)


async def test_three_retries_of_one_request_create_one_order(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, before = stocked(erp)
    request = order_request((sku, "2"), warehouse=warehouse)
    async with order_service(tmp_path, erp) as orders:
        first = await orders.place("storefront", "key-1", request)
        again = [await orders.place("storefront", "key-1", request) for _ in range(2)]

    assert erp.calls["create_order"] == 1
    assert not first.replayed and all(p.replayed for p in again)
    assert {p.order.id for p in again} == {first.order.id}
    assert first.order.state is OrderState.CONFIRMED
    assert available(erp, sku, warehouse) == before - 2


async def test_concurrent_duplicates_create_one_order(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, _ = stocked(erp)
    request = order_request((sku, "1"), warehouse=warehouse)
    async with order_service(tmp_path, erp) as orders:
        placed = await asyncio.gather(*(orders.place("storefront", "key-1", request)
                                        for _ in range(5)))

    assert erp.calls["create_order"] == 1
    assert len({p.order.id for p in placed}) == 1
    assert sum(not p.replayed for p in placed) == 1


async def test_the_same_key_with_another_body_is_refused(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, _ = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        await orders.place("storefront", "key-1", order_request((sku, "1")))
        with pytest.raises(Unprocessable, match="different order"):
            await orders.place("storefront", "key-1", order_request((sku, "2")))
    assert erp.calls["create_order"] == 1


async def test_an_oversold_line_is_refused_with_what_is_available(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, have = stocked(erp)
    other, other_wh, _ = next((s, w.warehouse, w.available) for s, a in erp.catalog.stock.items()
                              if s != sku and s not in erp.catalog.units
                              for w in a.warehouses if w.warehouse == warehouse
                              and w.available >= 1)
    request = order_request((other, "1"), (sku, str(have + 5)), warehouse=warehouse)
    async with order_service(tmp_path, erp) as orders:
        with pytest.raises(Conflict) as refused:
            await orders.place("storefront", "key-1", request)
        # nothing was created: the key is free for the corrected order
        fixed = order_request((other, "1"), (sku, str(have)), warehouse=warehouse)
        placed = await orders.place("storefront", "key-1", fixed)

    assert refused.value.extensions["lines"] == [{
        "line": 1, "pointer": "#/lines/1", "sku": sku, "requested": str(have + 5),
        "available": format(have.normalize(), "f"), "unit": "unit", "warehouse": warehouse}]
    assert f"{sku}" in refused.value.detail
    assert erp.calls["create_order"] == 1
    assert placed.order.lines[1].quantity == have


async def test_one_of_two_concurrent_orders_for_the_last_unit_is_refused(
        tmp_path: Path) -> None:
    erp = YieldingDemo(refuse_oversell=False)  # the gateway alone must prevent the oversell
    sku, warehouse, have = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        await orders.place("a", "fill", order_request((sku, str(have - 1)), reference="F",
                                                      warehouse=warehouse))
        outcomes = await asyncio.gather(
            orders.place("a", "k-a", order_request((sku, "1"), reference="A",
                                                   warehouse=warehouse)),
            orders.place("b", "k-b", order_request((sku, "1"), reference="B",
                                                   warehouse=warehouse)),
            return_exceptions=True)

    refusals = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refusals) == 1 and len(outcomes) - len(refusals) == 1
    assert refusals[0].extensions["lines"][0]["available"] == "0"
    assert available(erp, sku, warehouse) == 0
    assert erp.calls["create_order"] == 2


async def test_an_order_for_any_warehouse_ships_from_one_that_has_every_line(
        tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, have = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        placed = await orders.place("s", "k", order_request((sku, str(have))))
    chosen = placed.order.warehouse
    assert chosen is not None
    assert available(erp, sku, chosen) + have == next(
        w.available for w in erp.catalog.stock[sku].warehouses if w.warehouse == chosen)


async def test_a_price_off_by_more_than_the_tolerance_is_refused_with_both(
        tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, _ = stocked(erp)
    quote = erp.catalog.price(erp.catalog.customers["CUST-002"], sku, Decimal(1))
    assert quote is not None
    close = quote.unit_price + Decimal("0.01")
    far = quote.unit_price - Decimal("0.50")
    async with order_service(tmp_path, erp, price_tolerance=Decimal("0.01")) as orders:
        accepted = await orders.place("s", "k1", order_request((sku, "1", str(close)),
                                                               reference="R1"))
        with pytest.raises(Conflict) as refused:
            await orders.place("s", "k2", order_request((sku, "1", str(far)), reference="R2"))

    assert accepted.order.lines[0].unit_price == quote.unit_price  # the ERP's price
    assert refused.value.extensions["lines"] == [{
        "line": 0, "pointer": "#/lines/0", "sku": sku,
        "expected_unit_price": format(far.normalize(), "f"),
        "erp_unit_price": format(quote.unit_price.normalize(), "f"), "currency": "USD"}]
    assert erp.calls["create_order"] == 1


async def test_a_lost_answer_is_resolved_on_retry_without_a_second_order(
        tmp_path: Path) -> None:
    erp = LosesAnswers()
    sku, warehouse, before = stocked(erp)
    request = order_request((sku, "1"), warehouse=warehouse)
    async with order_service(tmp_path, erp) as orders:
        with pytest.raises(ErpTimeout):
            await orders.place("s", "key-1", request)
        record = await orders.records.get("s", "key-1")
        assert record is not None and record.state is RecordState.UNKNOWN
        placed = await orders.place("s", "key-1", request)

    assert placed.replayed
    assert erp.calls["create_order"] == 1
    assert placed.order.reference == "WEB-1"
    assert available(erp, sku, warehouse) == before - 1


async def test_a_crash_mid_order_is_taken_over_after_the_lease(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, _ = stocked(erp)
    request = order_request((sku, "1"), warehouse=warehouse)
    now = [time.time()]
    store = SqliteIdempotencyStore(tmp_path / "r.sqlite3")
    try:
        async with order_service(tmp_path, erp, store=store, duplicate_wait_seconds=0,
                                 lease_seconds=60) as orders:
            orders.records = OrderRecords(store, ttl_seconds=3600, lease_seconds=60,
                                          clock=lambda: now[0])
            # a replica that died after the ERP created the order: its record in progress
            claim = await orders.records.claim("s", "key-1", fingerprint(request))
            assert claim.won
            created = await erp.create_order(new_order(request, warehouse, channel="s"))
            with pytest.raises(Conflict, match="still being placed"):
                await orders.place("s", "key-1", request)
            now[0] += 61
            placed = await orders.place("s", "key-1", request)
    finally:
        await store.aclose()

    assert placed.replayed and placed.order.id == created.id
    assert erp.calls["create_order"] == 1


async def test_a_reference_already_used_is_refused_under_another_key(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, _, _ = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        await orders.place("s", "key-1", order_request((sku, "1")))
        with pytest.raises(Conflict, match="already has an order"):
            await orders.place("s", "key-2", order_request((sku, "1")))
    assert erp.calls["create_order"] == 1


async def test_an_accepted_order_evicts_the_cached_availability_of_its_skus(
        tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, before = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        cached = await orders.catalog.availability([sku])
        assert (await orders.catalog.availability([sku]))[sku].status == "hit"
        await orders.place("s", "k", order_request((sku, "1"), warehouse=warehouse))
        after = (await orders.catalog.availability([sku]))[sku]

    assert cached[sku].status == "miss" and after.status == "miss"
    assert after.payload is not None and after.payload != cached[sku].payload


async def test_orders_belong_to_the_client_that_placed_them(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, warehouse, before = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        placed = await orders.place("a", "k", order_request((sku, "1"), warehouse=warehouse))
        mine = await orders.get("a", placed.order.id)
        with pytest.raises(OrderNotFound):
            await orders.get("b", placed.order.id)
        with pytest.raises(OrderNotFound):
            await orders.cancel("b", placed.order.id)
        cancelled = await orders.cancel("a", placed.order.id)

    assert mine.id == placed.order.id
    assert cancelled.state is OrderState.CANCELLED
    assert available(erp, sku, warehouse) == before


async def test_a_dozen_takes_twelve_units_and_a_wrong_unit_is_refused(tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku = "SKU-0010"  # sold per dozen, stocked per unit
    warehouse, have = next((w.warehouse, w.available) for w in erp.catalog.stock[sku].warehouses
                           if w.available >= 24)
    request = order_request((sku, "2"), warehouse=warehouse)
    wrong = request.model_copy(update={"lines": [
        request.lines[0].model_copy(update={"unit": "unit"})], "reference": "W"})
    async with order_service(tmp_path, erp) as orders:
        with pytest.raises(Unprocessable, match="sold per dozen"):
            await orders.place("s", "k0", wrong)
        placed = await orders.place("s", "k1", request)

    assert placed.order.lines[0].unit == "dozen"
    assert available(erp, sku, warehouse) == have - 24


async def test_unknown_skus_customers_and_warehouses_are_refused_by_line(
        tmp_path: Path) -> None:
    erp = YieldingDemo()
    sku, _, _ = stocked(erp)
    async with order_service(tmp_path, erp) as orders:
        with pytest.raises(Unprocessable) as sku_refused:
            await orders.place("s", "k1", order_request((sku, "1"), ("NOPE-1", "1")))
        with pytest.raises(Unprocessable) as customer_refused:
            await orders.place("s", "k2", order_request((sku, "1"), customer="CUST-999"))
        with pytest.raises(Unprocessable) as warehouse_refused:
            await orders.place("s", "k3", order_request((sku, "1"), warehouse="WH-MOON"))

    assert sku_refused.value.extensions["errors"][0]["pointer"] == "#/lines/1/sku"
    assert customer_refused.value.extensions["errors"][0]["pointer"] == "#/customer"
    assert "WH-MOON" in warehouse_refused.value.detail
    assert erp.calls["create_order"] == 0

