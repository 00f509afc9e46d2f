"""CPU cost of the edge layers and the ETag on a cached read, in-process (no server).

One cached ``GET /v1/inventory/{sku}`` through the whole ASGI app (edge layers, policy chain,
L1 hit, rendering), driven by a fake server loop; the figure is CPU time per request
(``time.process_time``), which a busy machine disturbs far less than throughput. Each round
runs a fresh child process per tree, alternating this tree and ``--against DIR`` (another
checkout, e.g. the code before a change), so both see the same machine state; the report
gives each round's ratio and their range.

Request shapes: ``plain`` (wrk's: no Accept-Encoding), ``browser`` (Accept-Encoding: gzip,
deflate, br, as every browser sends; the answer is below the gzip minimum) and, on a tree
with ETags, ``revalidate`` (a matching If-None-Match answered 304).

    python bench/edge_cost.py [--against DIR] [--rounds 5] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SKU_PATH = "/v1/inventory/SKU-0001"
BASE_HEADERS = [(b"host", b"gateway.test"), (b"user-agent", b"bench"), (b"accept", b"*/*"),
                (b"x-api-key", b"demo-storefront-key")]
CONFIG = {"demo": True, "ratelimit": {"default_plan": "default", "plans": {
    "default": {"limits": {"inventory": "1000000000/minute"}}}}}


def child(requests: int) -> dict[str, float]:
    """Microseconds of CPU per request for each request shape, in this process's tree."""
    from gateway.app import create_app
    from gateway.settings import parse_settings

    app = create_app(parse_settings(CONFIG, env={}))
    status: list[int] = []
    etag: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def send_warm(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            etag.extend(v for k, v in message["headers"] if k == b"etag")

    def scope(extra: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                "method": "GET", "scheme": "http", "path": SKU_PATH, "raw_path": SKU_PATH.encode(),
                "query_string": b"", "root_path": "", "headers": [*BASE_HEADERS, *extra],
                "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080), "state": {}}

    async def run() -> dict[str, float]:
        async with app.router.lifespan_context(app):
            for _ in range(200):  # warm: the cache holds the answer, the code paths are hot
                await app(scope([]), receive, send_warm)
            shapes = {"plain": [], "browser": [(b"accept-encoding", b"gzip, deflate, br")]}
            if etag:
                shapes["revalidate"] = [(b"if-none-match", etag[-1])]
            out = {}
            for name, extra in shapes.items():
                scopes = [scope(extra) for _ in range(requests)]
                status.clear()
                started = time.process_time()
                for s in scopes:
                    await app(s, receive, send)
                out[name] = (time.process_time() - started) / requests * 1e6
                expected = 304 if name == "revalidate" else 200
                if status.count(expected) != requests:
                    raise SystemExit(f"{name}: statuses {sorted(set(status))}")
            return out

    return asyncio.run(run())


def measure(tree: Path, requests: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "edge_cost.py"), "--child", str(requests)],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
        timeout=600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    trees = {"this tree": ROOT, **({str(args.against): args.against.resolve()}
                                   if args.against else {})}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for i in range(args.rounds):
        for name, tree in trees.items():
            rounds[name].append(measure(tree, args.requests))
        print(f"round {i + 1}: " + "; ".join(
            f"{name} " + ", ".join(f"{k} {v:.1f} us" for k, v in r[-1].items())
            for name, r in rounds.items()), flush=True)
    print(f"{args.requests} requests per shape per round, {args.rounds} rounds, "
          "CPU us per request (median, min to max)")
    print("| tree | shape | CPU us/request | this tree / that, per round |")
    print("|---|---|---|---|")
    for name, results in rounds.items():
        for shape in results[0]:
            values = [r[shape] for r in results]
            ratio = ""
            if name != "this tree" and shape in rounds["this tree"][0]:
                ratios = [t[shape] / r[shape] for t, r in
                          zip(rounds["this tree"], results, strict=True)]
                ratio = (f"{statistics.median(ratios):.3f} "
                         f"({min(ratios):.3f} to {max(ratios):.3f})")
            print(f"| {name} | {shape} | {statistics.median(values):.1f} "
                  f"({min(values):.1f} to {max(values):.1f}) | {ratio} |")


if __name__ == "__main__":
    main()
