"""Cost of the policy chain on the product's hot path.

Throughput of a cached ``GET /v1/inventory/{sku}`` through the whole gateway (request id,
metrics, auth with an API key, versioning, rate limit in its default synced mode on a real
Redis, validation, L1 cache hit, rendering) against a bare Starlette app returning the same
bytes; both on uvicorn with one worker and no access log, loaded by wrk in alternating
rounds in the same run. The goal is a ratio of at least 0.8. The plan's limit is set high
enough never to reject: the cost of counting is measured, not the cost of refusing.

    python bench/policy_cost.py [--seconds 10] [--rounds 3] [--connections 32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
from _harness import ROOT, free_port, gateway_cmd, machine, process, run_wrk

from tests.support.redis_server import start_redis

KEY = {"X-API-Key": "demo-storefront-key"}
SKUS = [f"/v1/inventory/SKU-{i:04d}" for i in range(1, 21)]

CONFIG = """
demo = true
[redis]
url = "{redis}"
[ratelimit]
mode = "synced"
default_plan = "bench"
[[ratelimit.route_groups]]
name = "inventory"
path_prefixes = ["/*/inventory"]
[ratelimit.plans.bench.limits]
inventory = "100000000/minute"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    gw_port, bare_port = free_port(), free_port()
    gw, bare = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{bare_port}"
    redis = start_redis()
    tmp = tempfile.TemporaryDirectory()
    config = Path(tmp.name) / "cost.toml"
    config.write_text(CONFIG.format(redis=redis.url))
    try:
        rounds = measure(args, gw, gw_port, bare, bare_port, config)
    finally:
        redis.stop()
        tmp.cleanup()
    report(args, *rounds)


def measure(args: argparse.Namespace, gw: str, gw_port: int, bare: str, bare_port: int,
            config: Path) -> tuple[list[float], list[float]]:
    with process(gateway_cmd(config, gw_port), ready_url=f"{gw}/healthz"):
        # the bare app answers exactly what the gateway answers for the first SKU
        body = httpx.get(f"{gw}{SKUS[0]}", headers=KEY).content
        for path in SKUS:  # warm the cache: the benchmark measures hits
            httpx.get(f"{gw}{path}", headers=KEY).raise_for_status()
        with process([sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port",
                      str(bare_port), "--log-level", "warning", "--no-access-log"],
                     ready_url=f"{bare}{SKUS[0]}", env={"BARE_BODY": body.decode(),
                                                        "PYTHONPATH": str(ROOT)}):
            gateway_rps, bare_rps = [], []
            for _ in range(args.rounds):
                b = run_wrk(bare, SKUS, KEY, args.seconds, args.connections)
                g = run_wrk(gw, SKUS, KEY, args.seconds, args.connections)
                if g.non_2xx or g.socket_errors or b.non_2xx or b.socket_errors:
                    raise SystemExit(f"errors during the run: gateway {g}, bare {b}")
                bare_rps.append(b.rps)
                gateway_rps.append(g.rps)
                print(f"round: bare {b.rps:.0f} req/s (p99 {b.p99_ms:.1f} ms), "
                      f"gateway {g.rps:.0f} req/s (p99 {g.p99_ms:.1f} ms)", flush=True)
    return gateway_rps, bare_rps


def report(args: argparse.Namespace, gateway_rps: list[float], bare_rps: list[float]) -> None:
    bare_med, gw_med = statistics.median(bare_rps), statistics.median(gateway_rps)
    print(f"machine: {machine()}")
    print(f"wrk: 1 thread, {args.connections} connections, {args.seconds:g} s x "
          f"{args.rounds} rounds, alternating; uvicorn 1 worker each")
    print("| app | median req/s |")
    print("|---|---|")
    print(f"| bare Starlette, same bytes | {bare_med:.0f} |")
    print(f"| gateway, full policy chain, cache hit | {gw_med:.0f} |")
    print(f"ratio gateway/bare: {gw_med / bare_med:.2f} (goal >= 0.80)")


if __name__ == "__main__":
    main()
