"""How many requests do N gateway processes admit together under one shared limit?

Starts a throwaway redis-server (or, with ``--topology cluster``, a 3-master Redis Cluster
with one replica each), then N gateway processes (``erp-gateway serve`` on the
demo, sharing that Redis, the demo storefront client on a plan of 100/minute for
inventory), blasts authenticated requests round-robin across them with bounded
concurrency, and prints the admitted count plus one JSON result line. The target: admitted within
[limit, limit + 3]. Everything it starts is stopped before it exits.

    .venv/bin/python bench/ratelimit_accuracy.py                   # synced, then strict
    .venv/bin/python bench/ratelimit_accuracy.py --mode synced --pattern skewed
    .venv/bin/python bench/ratelimit_accuracy.py --results bench/results.jsonl
    .venv/bin/python bench/ratelimit_accuracy.py --topology cluster
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import free_port, start_redis  # noqa: E402
from tests.support.redis_topologies import start_cluster  # noqa: E402

PATH = "/v1/inventory/SKU-0001"


# the served side: real gateway processes ------------------------------------------------

CONFIG = """
demo = true
{redis}
[ratelimit]
mode = "{mode}"
replicas = {replicas}
default_plan = "bench"
[ratelimit.plans.bench.limits]
inventory = "{limit}"
"""
HEADERS = {"X-API-Key": "demo-storefront-key"}


class Backend:
    """The Redis the replicas share: one server, or a Cluster reached through its seeds."""

    def __init__(self, topology: str) -> None:
        self.topology = topology
        if topology == "cluster":
            self.cluster = start_cluster(masters=3, replicas=1)
            nodes = ", ".join(f'"{seed}"' for seed in self.cluster.seeds)
            self.table = f"[redis.cluster]\nnodes = [{nodes}]"
        else:
            self.server = start_redis()
            self.table = f'[redis]\nurl = "{self.server.url}"'

    def client(self) -> Any:
        if self.topology == "cluster":
            from redis.asyncio.cluster import ClusterNode, RedisCluster

            host, port = self.cluster.seeds[0].split(":")
            return RedisCluster(startup_nodes=[ClusterNode(host, int(port))])
        import redis.asyncio as aioredis

        return aioredis.Redis.from_url(self.server.url)

    async def flush(self) -> None:
        client = self.client()
        try:
            if self.topology == "cluster":
                await client.flushall(target_nodes=client.PRIMARIES)
            else:
                await client.flushall()
        finally:
            await client.aclose()

    async def shared_count(self) -> int:
        client = self.client()
        try:
            total = 0
            async for key in client.scan_iter(match="gw-rl:*"):  # every master on Cluster
                total += int(await client.get(key) or 0)
            return total
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.topology == "cluster":
            self.cluster.stop()
        else:
            self.server.stop()


# the driving side ---------------------------------------------------------------------------

def start_replicas(redis: Backend, mode: str, replicas: int, limit: str
                   ) -> list[tuple[int, subprocess.Popen[bytes]]]:
    """``replicas`` gateway processes (demo ERP and clients) sharing ``redis``."""
    config = Path(tempfile.mkdtemp(prefix="rl-bench-")) / "gateway.toml"
    config.write_text(CONFIG.format(redis=redis.table, mode=mode, replicas=replicas,
                                    limit=limit))
    started = []
    for _ in range(replicas):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config),
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
        )
        started.append((port, proc))
    return started


def stop_replicas(started: list[tuple[int, subprocess.Popen[bytes]]]) -> None:
    for _, proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for _, proc in started:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def wait_ready(client: Any, ports: list[int], deadline: float) -> None:
    for port in ports:
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    break
            except Exception:  # not listening yet
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica on port {port} did not come up")
            await asyncio.sleep(0.05)


def target_port(i: int, ports: list[int], pattern: str) -> int:
    if pattern == "round-robin":
        return ports[i % len(ports)]
    # skewed: 80 % to the first replica, the rest shared by the others
    return ports[0] if i % 10 < 8 or len(ports) == 1 else ports[1 + i % (len(ports) - 1)]


async def blast(ports: list[int], requests: int, concurrency: int, pattern: str,
                budget_s: float) -> tuple[Counter[int], float]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        await wait_ready(client, ports, time.monotonic() + budget_s)
        gate = asyncio.Semaphore(concurrency)
        statuses: Counter[int] = Counter()

        async def one(i: int) -> None:
            async with gate:
                try:
                    response = await client.get(f"http://127.0.0.1:{target_port(i, ports, pattern)}"
                                                f"{PATH}", headers=HEADERS)
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

        started = time.perf_counter()
        async with asyncio.timeout(budget_s):
            await asyncio.gather(*(one(i) for i in range(requests)))
        return statuses, time.perf_counter() - started


def run_once(redis: Backend, args: argparse.Namespace, mode: str) -> dict[str, Any]:
    from limits import parse

    amount = parse(args.limit).amount
    asyncio.run(redis.flush())
    started = start_replicas(redis, mode, args.replicas, args.limit)
    try:
        ports = [port for port, _ in started]
        statuses, elapsed = asyncio.run(
            blast(ports, args.requests, args.concurrency, args.pattern, args.timeout)
        )
    finally:
        stop_replicas(started)  # graceful: each replica hands unused allowance back
    admitted = statuses.get(200, 0)
    return {
        "bench": "ratelimit_accuracy",
        "mode": mode,
        "pattern": args.pattern,
        "replicas": args.replicas,
        "limit": args.limit,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "admitted": admitted,
        "rejected": statuses.get(429, 0),
        "other": sum(n for s, n in statuses.items() if s not in (200, 429)),
        "redis_count_after_shutdown": asyncio.run(redis.shared_count()),
        "topology": redis.topology,
        "elapsed_s": round(elapsed, 3),
        "target": [amount, amount + 3],
        "within_target": amount <= admitted <= amount + 3,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mode", choices=["synced", "strict", "both"], default="both")
    parser.add_argument("--pattern", choices=["round-robin", "skewed"], default="round-robin")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--limit", default="100/minute")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on each blast (s)")
    parser.add_argument("--results", type=Path, help="append the JSON result lines here")
    parser.add_argument("--topology", choices=["standalone", "cluster"], default="standalone")
    args = parser.parse_args()

    modes = ["synced", "strict"] if args.mode == "both" else [args.mode]
    redis = Backend(args.topology)
    results = []
    try:
        for mode in modes:
            result = run_once(redis, args, mode)
            results.append(result)
            print(f"{mode:>6} {args.pattern} on {args.topology}: {args.replicas} replicas, "
                  f"limit {args.limit}, "
                  f"{args.requests} requests -> admitted {result['admitted']}, "
                  f"rejected {result['rejected']}, other {result['other']} "
                  f"in {result['elapsed_s']} s; Redis count after shutdown "
                  f"{result['redis_count_after_shutdown']}; "
                  f"target {result['target']}: {'OK' if result['within_target'] else 'MISSED'}")
    finally:
        redis.stop()
    for result in results:
        line = json.dumps(result, separators=(",", ":"))
        print(line)
        if args.results:
            with args.results.open("a") as fh:
                fh.write(line + "\n")
    return 0 if all(r["within_target"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
