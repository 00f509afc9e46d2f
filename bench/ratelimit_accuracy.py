"""How many requests do N gateway processes admit together under one shared limit?

Starts a throwaway redis-server, then N uvicorn processes, each serving a small Starlette
app behind a fake principal injector and ``RateLimitMiddleware`` (one plan, default
100/minute), blasts requests round-robin across them with bounded concurrency, and prints
the admitted count plus one JSON result line. The target: admitted within
[limit, limit + 3]. Everything it starts is stopped before it exits.

    .venv/bin/python bench/ratelimit_accuracy.py                   # synced, then strict
    .venv/bin/python bench/ratelimit_accuracy.py --mode synced --pattern skewed
    .venv/bin/python bench/ratelimit_accuracy.py --results bench/results.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.redis_server import RedisServer, free_port, start_redis  # noqa: E402

PATH = "/v1/inventory/sku-1"
BODY = b'{"sku":"sku-1","available":42}'


# the served side (one process per replica) ------------------------------------------------

def build_app(redis_url: str, mode: str, replicas: int, limit: str) -> Any:
    from dataclasses import dataclass

    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from starlette.types import ASGIApp, Receive, Scope, Send

    from policies.ratelimit import PlanConfig, RateLimitConfig, RateLimitMiddleware, RouteGroup

    @dataclass(frozen=True)
    class Principal:
        client_id: str
        plan: str
        versions: frozenset[str] = frozenset()

    class FakeAuth:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app
            self.principal = Principal("bench-client", "bench")

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                scope.setdefault("state", {})["principal"] = self.principal
            await self.app(scope, receive, send)

    async def inventory(request: Request) -> Response:
        return Response(BODY, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    config = RateLimitConfig(
        mode=mode,  # type: ignore[arg-type]
        replicas=replicas,
        plans={"bench": PlanConfig(limits={"inventory": limit})},
        route_groups=[RouteGroup(name="inventory", path_prefixes=["/*/inventory"])],
    )
    return Starlette(
        routes=[Route("/v1/inventory/{sku}", inventory), Route("/healthz", healthz)],
        middleware=[
            Middleware(FakeAuth),
            Middleware(RateLimitMiddleware, config=config, storage_uri=redis_url),
        ],
    )


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    app = build_app(args.redis, args.mode, args.replicas, args.limit)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on")


# the driving side ---------------------------------------------------------------------------

def start_replicas(redis: RedisServer, mode: str, replicas: int, limit: str
                   ) -> list[tuple[int, subprocess.Popen[bytes]]]:
    started = []
    for _ in range(replicas):
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, __file__, "serve", "--port", str(port), "--redis", redis.url,
             "--mode", mode, "--replicas", str(replicas), "--limit", limit],
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
                                                f"{PATH}")
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1

        started = time.perf_counter()
        async with asyncio.timeout(budget_s):
            await asyncio.gather(*(one(i) for i in range(requests)))
        return statuses, time.perf_counter() - started


async def shared_count(redis: RedisServer) -> int:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis.url)
    try:
        total = 0
        async for key in client.scan_iter(match="gw-rl:*"):
            total += int(await client.get(key) or 0)
        return total
    finally:
        await client.aclose()


async def flush(redis: RedisServer) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis.url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


def run_once(redis: RedisServer, args: argparse.Namespace, mode: str) -> dict[str, Any]:
    from limits import parse

    amount = parse(args.limit).amount
    asyncio.run(flush(redis))
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
        "redis_count_after_shutdown": asyncio.run(shared_count(redis)),
        "elapsed_s": round(elapsed, 3),
        "target": [amount, amount + 3],
        "within_target": amount <= admitted <= amount + 3,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command")
    srv = sub.add_parser("serve", help="internal: run one replica")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--redis", required=True)
    srv.add_argument("--mode", default="synced")
    srv.add_argument("--replicas", type=int, default=3)
    srv.add_argument("--limit", default="100/minute")
    parser.add_argument("--mode", choices=["synced", "strict", "both"], default="both")
    parser.add_argument("--pattern", choices=["round-robin", "skewed"], default="round-robin")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--limit", default="100/minute")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on each blast (s)")
    parser.add_argument("--results", type=Path, help="append the JSON result lines here")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args)
        return 0

    modes = ["synced", "strict"] if args.mode == "both" else [args.mode]
    redis = start_redis()
    results = []
    try:
        for mode in modes:
            result = run_once(redis, args, mode)
            results.append(result)
            print(f"{mode:>6} {args.pattern}: {args.replicas} replicas, limit {args.limit}, "
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
