"""Drills: the ERP hung then down, and a carrier hanging, against real gateway processes.

ERP: the demo ERP as its own process, SIGSTOPped (a hung host: connections open, nothing
answers) and then killed (connections refused). Carrier: a sandbox account that hangs
while a file exists, so the drill switches the outage on and off from outside.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.drills.common import STOREFRONT, WAREHOUSE, until, write_config
from tests.support import fleet
from tests.support.redis_server import RedisServer, start_redis

pytestmark = [pytest.mark.drill, pytest.mark.redis]

WARM = [f"/v1/inventory/SKU-{i:04d}" for i in range(1, 11)]
COLD = [f"/v1/inventory/SKU-{i:04d}" for i in range(400, 410)]
# the ERP budget in the drill config is 1 s; a client that waits 10 s sees any hang
CLIENT_TIMEOUT = 10.0


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = start_redis()
    try:
        yield server
    finally:
        server.stop()


async def reads(client: httpx.AsyncClient, base: str, paths: list[str]
                ) -> list[tuple[int, str, str | None, float]]:
    """(status, Cache-Status, Retry-After, seconds) per read; transport errors propagate."""
    out = []
    for path in paths:
        started = time.monotonic()
        response = await client.get(base + path, headers=STOREFRONT)
        out.append((response.status_code, response.headers.get("cache-status", ""),
                    response.headers.get("retry-after"), time.monotonic() - started))
    return out


async def test_erp_hung_then_down(redis, tmp_path: Path):
    erp = fleet.demo_erp()
    config = write_config(tmp_path / "drill.toml", erp=erp.base, redis_port=redis.port,
                          fresh=0.5)
    # the ERP is stopped even when the gateway fails to start
    with fleet.running(erp), fleet.running(fleet.gateway(config)) as (gateway,):
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client:
            warm = await reads(client, gateway.base, WARM)
            assert {s for s, *_ in warm} == {200}
            erp.pause()

            async def served_stale() -> bool:
                return all("stale-if-error" in c
                           for _, c, _, _ in await reads(client, gateway.base, WARM))
            await until(served_stale, "cached reads served stale while the ERP hangs")
            hung_warm = await reads(client, gateway.base, WARM)
            hung_cold = await reads(client, gateway.base, COLD)
            erp.stop()  # SIGCONT + SIGTERM: gone, connections refused from now on
            down_warm = await reads(client, gateway.base, WARM)
            down_cold = await reads(client, gateway.base, COLD)
    slowest = max(t for *_, t in hung_warm + hung_cold + down_warm + down_cold)
    print(f"\nERP hung: cached {[s for s, *_ in hung_warm]}, uncached "
          f"{sorted({s for s, *_ in hung_cold})} with Retry-After "
          f"{sorted({r for *_, r, _ in hung_cold if r})}; ERP down: cached "
          f"{sorted({s for s, *_ in down_warm})}, uncached {sorted({s for s, *_ in down_cold})}"
          f"; slowest answer {slowest:.2f} s (ERP budget 1 s)")
    assert {s for s, *_ in hung_warm + down_warm} == {200}
    assert all("stale-if-error" in c for _, c, _, _ in hung_warm + down_warm)
    # a hung ERP is a timeout (504), a refusing one is unavailable (503); both say when
    assert {s for s, *_ in hung_cold} == {504}
    assert {s for s, *_ in down_cold} == {503}
    assert all(r is not None and int(r) >= 1 for *_, r, _ in hung_cold + down_cold)


CARRIER_CONFIG = """
[shipping]
rate_shop_deadline_seconds = 3
[shipping.idempotency]
backend = "redis"
[[shipping.accounts]]
id = "primary"
carrier = "sandbox"
warehouses = ["*"]
timeout_seconds = 1
options = {{ hang_while_exists = "{switch}" }}
breaker = {{ window_seconds = 60, minimum_calls = 5, failure_rate = 0.5, open_seconds = 2 }}
[[shipping.accounts]]
id = "secondary"
carrier = "sandbox"
warehouses = ["*"]
timeout_seconds = 1
[[shipping.fallback.rules]]
country = "US"
service = "ground"
service_level = "ground"
price = 11.00
currency = "EUR"
transit_days = 4
"""

SHIP_FROM = {"name": "DC Ost", "street": ["Hafenstraße 1"], "city": "Newark",
             "postal_code": "07101", "country": "US"}
SHIP_TO = {"name": "Zoë Buyer", "street": ["9 Elm St", "Apt 4B"], "city": "Denver",
           "postal_code": "80202 1234", "country": "US"}
RATES = {"warehouse": "WH-EAST", "ship_from": SHIP_FROM, "ship_to": SHIP_TO,
         "parcels": [{"weight": "2", "weight_unit": "lb"}]}
LABEL = {**RATES, "carrier": "primary", "service": "ground"}


async def test_a_hanging_carrier(redis, tmp_path: Path):
    switch = tmp_path / "primary-hangs"
    switch.touch()
    erp = fleet.demo_erp()
    config = write_config(tmp_path / "drill.toml", erp=erp.base, redis_port=redis.port,
                          extra=CARRIER_CONFIG.format(switch=switch))
    with fleet.running(erp), fleet.running(fleet.gateway(config)) as (gateway,):
        base = gateway.base
        key = {**WAREHOUSE, "Idempotency-Key": "PO-2026-0042/box-1"}
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT) as client:
            shops = []
            for _ in range(8):
                response = await client.post(base + "/v1/shipping/rates", json=RATES,
                                             headers=WAREHOUSE)
                assert response.status_code == 200, response.text
                doc = response.json()
                shops.append((any(m["code"] == "breaker_open" for m in doc["messages"]),
                              any(r["source"] == "fallback" for r in doc["rates"])))
            during = await client.post(base + "/v1/shipping/labels", json=LABEL, headers=key)
            switch.unlink()  # the carrier answers again

            async def primary_live() -> bool:
                response = await client.post(base + "/v1/shipping/rates", json=RATES,
                                             headers=WAREHOUSE)
                return any(r["carrier_account"] == "primary" and r["source"] == "live"
                           for r in response.json()["rates"])
            recovered = await until(primary_live, "primary's breaker closing again")
            retry = await client.post(base + "/v1/shipping/labels", json=LABEL, headers=key)
            again = await client.post(base + "/v1/shipping/labels", json=LABEL, headers=key)
        purchases = gateway.counter("gateway_label_purchases_total", outcome="bought")
        replays = gateway.counter("gateway_label_purchases_total", outcome="replayed")
    opened = sum(o for o, _ in shops)
    flagged = sum(f for o, f in shops if o)
    print(f"\ncarrier hanging: breaker open on {opened}/8 rate-shops, fallback rates on "
          f"{flagged} of those; label during the outage {during.status_code} "
          f"(Retry-After {during.headers.get('retry-after')}); live again after "
          f"{recovered:.2f} s; retry {retry.status_code}, again {again.status_code}; "
          f"purchases {purchases}, replays {replays}")
    assert opened >= 1 and flagged == opened
    assert during.status_code == 503 and during.headers.get("retry-after")
    assert retry.status_code == again.status_code == 201, retry.text
    assert retry.json()["id"] == again.json()["id"]
    assert (purchases, replays) == (1, 1)
