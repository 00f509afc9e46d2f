"""Drill: rate-shop latency with a hanging carrier, before and after its breaker opens.

A real gateway process (demo ERP, two sandbox accounts) where ``primary`` never
answers (1 s call budget, breaker opens at 50 % failures over >= 5 calls) and
``secondary`` is healthy. Baseline: the same gateway with both accounts healthy,
measured in the same run.

    python bench/carrier_drill.py [--requests 200] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from _harness import free_port, gateway_cmd, machine, percentile, process

CONFIG = """
demo = true
[shipping]
rate_shop_deadline_seconds = 3
[shipping.idempotency]
sqlite_path = "{labels}"
[[shipping.accounts]]
id = "primary"
carrier = "sandbox"
warehouses = ["*"]
timeout_seconds = 1
options = {{ hang = {hang} }}
breaker = {{ window_seconds = 60, minimum_calls = 5, failure_rate = 0.5, open_seconds = 600 }}
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
currency = "USD"
transit_days = 4
"""

BODY = {
    "warehouse": "WH-EAST",
    "ship_from": {"name": "DC", "street": ["1 Dock Rd"], "city": "Newark",
                  "postal_code": "07101", "country": "US"},
    "ship_to": {"name": "Buyer", "street": ["9 Elm St"], "city": "Denver",
                "postal_code": "80202", "country": "US"},
    "parcels": [{"weight": "2"}],
}
HEADERS = {"X-API-Key": "demo-warehouse-key"}


async def shop(client: httpx.AsyncClient, n: int, concurrency: int
               ) -> list[tuple[float, bool, bool]]:
    """(seconds, breaker was open for primary, a fallback rate came back) per request."""
    out: list[tuple[float, bool, bool]] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            started = time.perf_counter()
            response = await client.post("/v1/shipping/rates", json=BODY, headers=HEADERS)
            took = time.perf_counter() - started
            response.raise_for_status()
            doc = response.json()
            out.append((took,
                        any(m["code"] == "breaker_open" for m in doc["messages"]),
                        any(r["source"] == "fallback" for r in doc["rates"])))

    await asyncio.gather(*(one() for _ in range(n)))
    return out


def run_phase(hang: bool, requests: int, concurrency: int) -> list[tuple[float, bool, bool]]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "drill.toml"
        config.write_text(CONFIG.format(labels=Path(tmp) / "labels.sqlite3",
                                        hang="true" if hang else "false"))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with process(gateway_cmd(config, port), ready_url=f"{base}/healthz"):
            async def main() -> list[tuple[float, bool, bool]]:
                async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                    # sequential first: the breaker needs its minimum calls to decide
                    first = await shop(client, 10, 1)
                    return first + await shop(client, requests, concurrency)
            return asyncio.run(main())


def summary(name: str, samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return (f"| {name} | {len(ms)} | {percentile(ms, 50):.1f} | {percentile(ms, 99):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    healthy = run_phase(False, args.requests, args.concurrency)
    hanging = run_phase(True, args.requests, args.concurrency)
    before = [t for t, open_, _ in hanging if not open_]
    after = [t for t, open_, _ in hanging if open_]
    fallback_after = sum(1 for _, open_, fb in hanging if open_ and fb)
    base_p50 = percentile([t for t, _, _ in healthy], 50)
    print(f"machine: {machine()}")
    print("| phase | requests | p50 ms | p99 ms |")
    print("|---|---|---|---|")
    print(summary("baseline: both carriers healthy", [t for t, _, _ in healthy]))
    print(summary("primary hanging, breaker closed", before))
    print(summary("primary hanging, breaker open", after))
    print(f"breaker-open answers carrying fallback rates: {fallback_after}/{len(after)}")
    if after:
        print(f"p50 ratio breaker-open / baseline: {percentile(after, 50) / base_p50:.2f}")
        print(f"p50 ratio breaker-closed / baseline: {percentile(before, 50) / base_p50:.1f}")


if __name__ == "__main__":
    main()
