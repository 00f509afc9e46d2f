"""What metrics and the access log cost on the cached read.

Two measurements, each against a baseline measured in the same run, in alternating rounds:

1. In-process, no server: one cached ``GET /v1/inventory/{sku}`` through the whole ASGI
   app (policy chain, handler, L1 hit), in prometheus-client's multiprocess mode as
   ``erp-gateway serve`` runs it. Variants: the chain without its observer (nothing
   recorded), with the observer and the access log off (metrics only), and with the
   access line written as JSON to a file. Reported: microseconds per request.
2. Through uvicorn (one worker, h11) under wrk: ``erp-gateway serve --no-access-log``
   against ``--access-log`` (its JSON lines to a file), requests per second and the
   server's CPU time per request from /proc/PID/stat.

    python bench/ops_cost.py [--requests 20000] [--rounds 5] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import ROOT, free_port, machine, run_wrk, wait_http

KEY = {"X-API-Key": "demo-storefront-key"}
# a plan that never refuses: the cost of counting is measured, not the cost of refusing
CONFIG = """
demo = true
[ratelimit]
default_plan = "default"
[ratelimit.plans.default.limits]
inventory = "1000000000/minute"
default = "1000000000/minute"
"""
SKUS = [f"/v1/inventory/SKU-{i:04d}" for i in range(1, 21)]
TICKS = os.sysconf("SC_CLK_TCK")


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "root_path": "", "query_string": b"", "server": ("127.0.0.1", 8080),
            "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1"), (b"x-api-key", KEY["X-API-Key"].encode())]}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _chain(app: Any) -> Any:
    """The PolicyChain inside the app's middleware stack."""
    from policies.chain import PolicyChain

    layer = app.middleware_stack
    while not isinstance(layer, PolicyChain):
        layer = layer.app
    return layer


async def in_process(requests: int, rounds: int, log_file: Path) -> dict[str, list[float]]:
    from gateway.metrics import enable_multiprocess
    from gateway.observability.logs import JsonFormatter

    enable_multiprocess(tempfile.mkdtemp(prefix="ops-cost-metrics-"))
    from gateway.app import create_app
    from gateway.settings import load_settings

    config = log_file.parent / "bench.toml"
    config.write_text(CONFIG)
    app = create_app(load_settings(config))
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    access = logging.getLogger("gateway.access")
    access.propagate = False
    handler = logging.FileHandler(log_file)
    handler.setFormatter(JsonFormatter())
    access.addHandler(handler)
    out: dict[str, list[float]] = {"no observer": [], "metrics": [], "metrics + access log": []}
    async with app.router.lifespan_context(app):
        await app(_scope(SKUS[0]), _receive, send)  # builds the middleware stack
        chain = _chain(app)
        observer = chain.observe
        for path in SKUS:  # warm the cache: the benchmark measures hits
            await app(_scope(path), _receive, send)
        for _ in range(rounds):
            for name in out:
                chain.observe = None if name == "no observer" else observer
                access.setLevel(logging.INFO if name == "metrics + access log"
                                else logging.CRITICAL)
                statuses.clear()
                started = time.perf_counter()
                for i in range(requests):
                    await app(_scope(SKUS[i % len(SKUS)]), _receive, send)
                elapsed = time.perf_counter() - started
                if set(statuses) != {200}:
                    raise SystemExit(f"{name}: statuses {set(statuses)}")
                out[name].append(elapsed / requests * 1e6)
            print("in-process round: " + ", ".join(f"{n} {v[-1]:.1f} us" for n, v in
                                                   out.items()), flush=True)
    handler.close()
    return out


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def served(seconds: float, rounds: int, tmp: Path) -> dict[str, list[tuple[float, float]]]:
    """(req/s, server CPU us per request) per round, for each access-log setting."""
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    results: dict[str, list[tuple[float, float]]] = {"access log off": [], "access log on": []}
    try:
        for name, flag in (("access log off", "--no-access-log"),
                           ("access log on", "--access-log")):
            port = free_port()
            config = tmp / "bench.toml"
            config.write_text(CONFIG)
            log = open(tmp / f"{flag}.log", "wb")  # noqa: SIM115 (closed with the process)
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port",
                 str(port), "--http", "h11", flag], stdout=subprocess.DEVNULL, stderr=log,
                cwd=ROOT)
            url = f"http://127.0.0.1:{port}"
            servers[name] = (proc, url)
            wait_http(f"{url}/healthz", timeout=60)
            for path in SKUS:
                subprocess.run(["curl", "-s", "-o", "/dev/null", "-H",
                                f"X-API-Key: {KEY['X-API-Key']}", url + path], check=True)
        for _ in range(rounds):
            for name, (proc, url) in servers.items():
                before = _cpu_seconds(proc.pid)
                r = run_wrk(url, SKUS, KEY, seconds, 32)
                cpu = _cpu_seconds(proc.pid) - before
                if r.non_2xx or r.socket_errors:
                    raise SystemExit(f"errors on {name}: {r}")
                results[name].append((r.rps, cpu / r.requests * 1e6))
            print("served round: " + ", ".join(f"{n} {v[-1][0]:.0f} req/s {v[-1][1]:.1f} us CPU"
                                               for n, v in results.items()), flush=True)
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait(10)
    return results


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f} to {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--skip-served", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inproc = asyncio.run(in_process(args.requests, args.rounds, Path(tmp) / "access.log"))
        wrk = {} if args.skip_served else served(args.seconds, args.rounds, Path(tmp))
    print(f"machine: {machine()}")
    print(f"in-process: {args.requests} cached reads x {args.rounds} rounds, alternating")
    print("| variant | us per request: median (min to max) | minus no observer, per round |")
    print("|---|---|---|")
    base = inproc["no observer"]
    for name, values in inproc.items():
        extra = [v - b for v, b in zip(values, base, strict=True)]
        print(f"| {name} | {_span(values)} | {_span(extra)} |")
    if wrk:
        print(f"served: uvicorn 1 worker, h11, wrk 32 connections, {args.seconds:g} s x "
              f"{args.rounds} rounds, alternating")
        print("| server | median req/s | CPU us per request (median) | req/s on / off, per round |")
        print("|---|---|---|---|")
        off = [r for r, _ in wrk["access log off"]]
        for name, values in wrk.items():
            rps = [r for r, _ in values]
            cpu = [c for _, c in values]
            ratio = [r / o for r, o in zip(rps, off, strict=True)]
            print(f"| {name} | {statistics.median(rps):.0f} | {statistics.median(cpu):.1f} | "
                  f"{_span(ratio)} |")


if __name__ == "__main__":
    main()
