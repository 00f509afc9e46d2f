"""Herd benchmark: many storefront reads, three gateway replicas, one Redis, a slow ERP.

The demo ERP runs as its own process with 50 ms latency; three gateway processes share
one redis-server; a load generator reads 20 hot SKUs' availability and their prices for
5 customers, round-robin over the replicas, for 20 s with a fresh TTL of 2 s. It reports
ERP calls per key per fresh window (the goal is at most 1.0), requests served, latency,
and checks the ERP's own call count against the gateways' cache counters.

The storefront client's plan is set high enough never to reject: this measures the
cache, not the limiter.

Baseline in the same run: the same load with the cache disabled in effect (fresh TTL 0,
no stale serving), so every request goes to the ERP.

    python bench/herd.py [--seconds 20] [--concurrency 48] [--topology cluster]

``--topology cluster`` shares a 3-master Redis Cluster (one replica each) instead of one
redis-server: the fill locks, entries and invalidation channel then spread over slots.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from _harness import WrkResult, free_port, gateway_cmd, machine, parse_wrk, process, wrk_command

from tests.support.redis_server import start_redis
from tests.support.redis_topologies import start_cluster

SKUS = [f"SKU-{i:04d}" for i in range(1, 21)]
CUSTOMERS = [f"CUST-{i:03d}" for i in range(1, 6)]
KEYS = len(SKUS) + len(SKUS) * len(CUSTOMERS)
READ = {"X-API-Key": "demo-storefront-key"}
ADMIN = {"X-API-Key": "demo-admin-key"}

CONFIG = """
demo = true
[erp]
kind = "http-demo"
url = "{erp}"
{redis}
[cache.policies.inventory]
fresh_ttl = {fresh}
stale_while_revalidate = {swr}
stale_if_error = {sie}
[cache.policies.prices]
fresh_ttl = {fresh}
stale_while_revalidate = {swr}
stale_if_error = {sie}
[ratelimit]
default_plan = "herd"
[ratelimit.plans.herd.limits]
inventory = "100000000/minute"
prices = "100000000/minute"
{extra}
"""


def paths() -> list[str]:
    """Inventory and price reads interleaved: every key is asked for about equally often."""
    inventory = [f"/v1/inventory/{sku}" for sku in SKUS]
    prices = [f"/v1/prices/{sku}?customer={c}" for sku in SKUS for c in CUSTOMERS]
    return [p for pair in zip(inventory * len(CUSTOMERS), prices, strict=True) for p in pair]


def load(bases: list[str], seconds: float, concurrency: int) -> list[WrkResult]:
    """One wrk per replica, all at once, each cycling through every hot path."""
    targets = paths()
    per = max(1, concurrency // len(bases))
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for i, base in enumerate(bases):
            rotated = targets[i * 7:] + targets[:i * 7]  # replicas start on different keys
            cmd, _ = wrk_command(base, rotated, READ, seconds, per, Path(tmp))
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        return [parse_wrk(p.communicate(timeout=seconds + 60)[0], seconds) for p in procs]


def gateway_counter(bases: list[str], name: str, **labels: str) -> int:
    """A counter summed over the replicas' /metrics (every sample with these labels)."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for base in bases:
        text = httpx.get(f"{base}/metrics", headers=ADMIN, timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    total += sample.value
    return int(total)


def redis_table(stack: ExitStack, topology: str, socket_timeout: float) -> str:
    """Start the shared Redis of ``topology``; its ``[redis]`` table for the config."""
    if topology == "cluster":
        cluster = start_cluster(masters=3, replicas=1)
        stack.callback(cluster.stop)
        nodes = ", ".join(f'"{seed}"' for seed in cluster.seeds)
        return (f"[redis]\nsocket_timeout = {socket_timeout}\n"
                f"[redis.cluster]\nnodes = [{nodes}]")
    redis = start_redis()
    stack.callback(redis.stop)
    return f'[redis]\nurl = "{redis.url}"\nsocket_timeout = {socket_timeout}'


def run(seconds: float, concurrency: int, fresh: float, swr: float, sie: float,
        extra: str = "", topology: str = "standalone", socket_timeout: float = 0.25
        ) -> dict[str, float]:
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        redis = redis_table(stack, topology, socket_timeout)
        erp_port = free_port()
        erp = f"http://127.0.0.1:{erp_port}"
        stack.enter_context(process(
            [sys.executable, "-m", "gateway", "demo-erp", "--port", str(erp_port),
             "--latency-ms", "50"], ready_url=f"{erp}/health"))
        config = Path(tmp) / "herd.toml"
        config.write_text(CONFIG.format(erp=erp, redis=redis, fresh=fresh, swr=swr,
                                        sie=sie, extra=extra))
        bases = []
        for _ in range(3):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            stack.enter_context(process(gateway_cmd(config, port), ready_url=f"{base}/healthz"))
            bases.append(base)
        httpx.post(f"{erp}/stats/reset", timeout=5)
        results = load(bases, seconds, concurrency)
        time.sleep(1)  # background refreshes started by the last requests land first
        fetches = gateway_counter(bases, "gateway_cache_erp_calls_total")
        l2_errors = gateway_counter(bases, "gateway_cache_l2_errors_total")
        stats = httpx.get(f"{erp}/stats", timeout=5).json()
        erp_calls = stats["calls"]["availability"] + stats["calls"]["prices"]
        # fresh windows a key's timeline can hold in the run: each fetch opens one
        windows = math.floor(seconds / fresh) + 1 if fresh else float("nan")
        served = sum(r.requests - r.non_2xx for r in results)
        return {
            "served": served, "failed": sum(r.non_2xx + r.socket_errors for r in results),
            "erp_calls": erp_calls, "gateway_fetches": fetches, "l2_errors": l2_errors,
            "soonest_key": stats["key_fetched_soonest_again"],
            "gateway_fetch_errors": gateway_counter(bases, "gateway_cache_erp_calls_total",
                                                    outcome="error"),
            "min_gap": stats["min_seconds_between_fetches_of_a_key"],
            "max_calls_per_key": stats["max_calls_per_key"], "windows": windows,
            "per_key_per_window": erp_calls / KEYS / windows if fresh else float("nan"),
            "max_per_key_per_window": stats["max_calls_per_key"] / windows if fresh
            else float("nan"),
            # the worst replica's percentiles: wrk reports per process
            "p50_ms": max(r.p50_ms for r in results), "p99_ms": max(r.p99_ms for r in results),
            "rps": served / seconds,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--fresh", type=float, default=2.0)
    parser.add_argument("--topology", choices=["standalone", "cluster"], default="standalone")
    parser.add_argument("--socket-timeout", type=float, default=0.25,
                        help="[redis] socket_timeout (default: the gateway's own)")
    args = parser.parse_args()
    common = {"topology": args.topology, "socket_timeout": args.socket_timeout}
    cached = run(args.seconds, args.concurrency, args.fresh, 30, 300, **common)
    uncached = run(args.seconds, args.concurrency, 0, 0, 1e-6, **common)
    print(f"machine: {machine()}")
    shared = "a 3-master Redis Cluster" if args.topology == "cluster" else "1 Redis"
    print(f"load: {args.seconds:g} s, {args.concurrency} concurrent, 3 gateways, {shared}, "
          f"demo ERP at 50 ms; {len(SKUS)} SKUs x {len(CUSTOMERS)} customers = {KEYS} keys; "
          f"fresh TTL {args.fresh:g} s; Redis socket timeout {args.socket_timeout:g} s")
    print("| run | served | failed | req/s | p50 ms (worst replica) | p99 ms (worst replica) "
          "| ERP calls | calls/key/window (mean) | calls/key/window (worst key) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in (("cached (fresh 2 s, swr 30 s)", cached), ("baseline: no caching", uncached)):
        print(f"| {name} | {r['served']:.0f} | {r['failed']:.0f} | {r['rps']:.0f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['erp_calls']:.0f} | "
              f"{r['per_key_per_window']:.2f} | {r['max_per_key_per_window']:.2f} |")
    print(f"ERP /stats calls {cached['erp_calls']:.0f}; gateways' cache fetches "
          f"{cached['gateway_fetches']:.0f} of which failed {cached['gateway_fetch_errors']:.0f}"
          f"; Redis (L2) errors {cached['l2_errors']:.0f} (cached run)")
    print(f"shortest time between two ERP fetches of one key: {cached['min_gap']} s "
          f"(fresh TTL {args.fresh:g} s; key {cached['soonest_key']})")
    print(f"throughput ratio cached/baseline: {cached['rps'] / uncached['rps']:.2f}; "
          f"ERP load ratio: {cached['erp_calls'] / max(1, uncached['erp_calls']):.4f}")


if __name__ == "__main__":
    main()
