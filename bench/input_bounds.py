"""Worst-case input: what the largest request each limit allows, and one just beyond it,
cost the gateway's event loop, and what a flood of them does to a concurrent client.

One gateway process (the embedded demo under uvicorn, h11, one worker). For each case,
eight connections send it back to back for ``--seconds``, while one more connection asks
``GET /healthz`` every 20 ms; the server's CPU time per request comes from
``/proc/PID/stat`` before and after. The baseline, measured in the same rounds, is a cached
``GET /v1/inventory/SKU-0001``. Rounds alternate the cases; the table gives the median of
the per-round figures and their range.

    python bench/input_bounds.py [--seconds 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import free_port, machine, percentile, process  # noqa: E402

from policies.limits import InputLimits  # noqa: E402

KEY = {"X-API-Key": "demo-storefront-key"}
LIMITS = InputLimits()
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    name: str
    method: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None


def _cases() -> list[Case]:
    # the largest of each dimension the limits allow, and one beyond each limit
    per_param = LIMITS.max_query_bytes // LIMITS.max_query_params - 4
    many_params = "&".join(f"p{i:02d}=" + "x" * (per_param - 4)
                           for i in range(LIMITS.max_query_params - 1))
    filler = [(f"X-F{i:02d}", "x" * (LIMITS.max_header_bytes // LIMITS.max_header_count - 12))
              for i in range(LIMITS.max_header_count - 8)]
    items = [{"sku": f"SKU-{i % 500 + 1:04d}", "quantity": "1"} for i in range(100)]
    wide = {"customer": "CUST-001", "items": items}
    deep_ok = {"skus": ["SKU-0001"],
               "warehouses": [None]}  # depth checked below with nested arrays
    nested: object = "x"
    for _ in range(LIMITS.max_json_depth - 2):
        nested = [nested]
    deep_ok["warehouses"] = nested  # type: ignore[assignment]
    unknown = {"skus": ["SKU-0001"],
               **{f"k{i}": 1 for i in range(LIMITS.max_json_elements - 10)}}
    too_many = {"skus": ["SKU-0001"],
                **{f"{i:x}": 1 for i in range(LIMITS.max_json_elements + 10)}}
    json_headers = [("Content-Type", "application/json")]
    return [
        Case("baseline: cached GET inventory", "GET", "/v1/inventory/SKU-0001"),
        Case(f"query: {LIMITS.max_query_params - 1} params, {LIMITS.max_query_bytes} B",
             "GET", f"/v1/prices/SKU-0001?customer=CUST-001&{many_params}"),
        Case("query beyond: 8,000 params (414)", "GET",
             "/v1/prices/SKU-0001?customer=CUST-001&" + "&".join(
                 f"p{i}=1" for i in range(8000))),
        Case(f"headers: {len(filler) + 4} fields, ~{LIMITS.max_header_bytes // 1024} KiB",
             "GET", "/v1/inventory/SKU-0001", filler),
        Case("headers beyond: 1,000 fields (431)", "GET", "/v1/inventory/SKU-0001",
             [(f"X-F{i}", "1") for i in range(1000)]),
        Case("path beyond: 2,049 B (414)", "GET",
             "/v1/inventory/" + "A" * (LIMITS.max_path_bytes + 1)),
        Case("body: 100-item price query", "POST", "/v2/prices/query", json_headers,
             json.dumps(wide).encode()),
        Case(f"body: nesting at the depth limit ({LIMITS.max_json_depth})", "POST",
             "/v1/inventory/query", json_headers, json.dumps(deep_ok).encode()),
        Case("body beyond: 1,000 levels deep (400)", "POST", "/v1/inventory/query",
             json_headers, b"[" * 1000 + b"]" * 1000),
        Case(f"body: {LIMITS.max_json_elements - 10:,} unknown keys (422, 20 listed)", "POST",
             "/v1/inventory/query", json_headers, json.dumps(unknown).encode()),
        Case(f"body beyond: {LIMITS.max_json_elements + 10:,} members in "
             f"{len(json.dumps(too_many, separators=(',', ':'))) // 1024} KiB (400)", "POST",
             "/v1/inventory/query", json_headers,
             json.dumps(too_many, separators=(",", ":")).encode()),
        Case(f"body beyond: {LIMITS.max_body_bytes // 1024 + 1} KiB (413)", "POST",
             "/v1/inventory/query", json_headers,
             b'{"skus": ["' + b"A" * LIMITS.max_body_bytes + b'"]}'),
    ]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def _flood(base: str, case: Case, seconds: float, connections: int = 8
                 ) -> tuple[int, list[int]]:
    stop = time.monotonic() + seconds
    statuses: list[int] = []

    async def sender(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            r = await client.request(case.method, case.path, content=case.body,
                                     headers=[*KEY.items(), *case.headers])
            statuses.append(r.status_code)

    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 trust_env=False) as client:
        await asyncio.gather(*(sender(client) for _ in range(connections)))
    return len(statuses), sorted(set(statuses))


async def _probe(base: str, seconds: float) -> list[float]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30, trust_env=False) as client:
        while time.monotonic() < stop:
            started = time.perf_counter()
            await client.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.02)
    return latencies


async def _measure(base: str, pid: int, case: Case, seconds: float
                   ) -> tuple[float, float, float, list[int]]:
    before = _cpu_seconds(pid)
    (count, statuses), probe = await asyncio.gather(_flood(base, case, seconds),
                                                    _probe(base, seconds))
    cpu_ms = (_cpu_seconds(pid) - before) * 1000 / max(count, 1)
    return cpu_ms, percentile(probe, 50), percentile(probe, 99), statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--http", "h11",
           "--log-level", "warning"]
    cases = _cases()
    figures: dict[str, list[tuple[float, float, float]]] = {c.name: [] for c in cases}
    seen: dict[str, list[int]] = {}
    with process(cmd, ready_url=f"{base}/healthz") as proc:
        for r in range(args.rounds):
            order = cases if r % 2 == 0 else list(reversed(cases))
            for case in order:
                cpu, p50, p99, statuses = asyncio.run(_measure(base, proc.pid, case,
                                                               args.seconds))
                figures[case.name].append((cpu, p50, p99))
                seen[case.name] = statuses
    baseline = [cpu for cpu, _, _ in figures[cases[0].name]]
    print(f"Machine: {machine()}\n")
    print("| case | answers | server CPU per request (ms) | ratio to baseline, per round "
          "(range) | concurrent /healthz p50 / p99 (ms) |")
    print("|---|---|---|---|---|")
    for case in cases:
        rows = figures[case.name]
        cpu = statistics.median(c for c, _, _ in rows)
        ratios = [c / b for (c, _, _), b in zip(rows, baseline, strict=True) if b > 0]
        p50 = statistics.median(p for _, p, _ in rows)
        p99 = max(p for _, _, p in rows)
        print(f"| {case.name} | {', '.join(map(str, seen[case.name]))} | {cpu:.3f} | "
              f"{statistics.median(ratios):.1f} ({min(ratios):.1f}–{max(ratios):.1f}) | "
              f"{p50:.1f} / {p99:.1f} |")


if __name__ == "__main__":
    main()
