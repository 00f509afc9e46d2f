"""Cost of the policy chain on the product's hot path.

Throughput of a cached ``GET /v1/inventory/{sku}`` through the whole gateway (request id,
metrics, auth with an API key, versioning, rate limit in its default synced mode on a real
Redis, validation, L1 cache hit, rendering) against a bare Starlette app returning the same
bytes; all on uvicorn with one worker, no access log and the options `erp-gateway serve`
uses, loaded by wrk in alternating rounds in the same run. The goal is a ratio of at least
0.8. The plan's limit is set high enough never to reject: the cost of counting is
measured, not the cost of refusing.

Two baselines run side by side: one answering the same body only, and one answering the
same response (body plus the gateway's own headers, copied once: Cache-Status, Age,
X-Request-ID, RateLimit-Policy, RateLimit). The second isolates producing the response
from the server's cost of writing five more header lines.

With ``--against DIR`` (another checkout of the gateway, e.g. ``git worktree add --detach
/tmp/main main``) a second gateway runs that tree's code in the same alternation, and the
report adds this tree's throughput over that one's per round, with each gateway's CPU time
per request (from /proc/PID/stat): the cost of a change, measured against the code before it.

    python bench/policy_cost.py [--seconds 10] [--rounds 3] [--connections 32] [--http h11]
                                [--against DIR]
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from pathlib import Path

import httpx
from _harness import ROOT, cpu_seconds, free_port, gateway_cmd, machine, process, run_wrk

from tests.support.redis_server import start_redis

KEY = {"X-API-Key": "demo-storefront-key"}
SKUS = [f"/v1/inventory/SKU-{i:04d}" for i in range(1, 21)]

CONFIG = """
demo = true
[redis]
url = "{redis}"
[ratelimit]
mode = "synced"
default_plan = "default"
[ratelimit.plans.default.limits]
inventory = "100000000/minute"
"""


# response headers the server writes itself (or Starlette derives from the body)
SERVER_MADE = {"date", "content-length", "content-type", "server"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--http", choices=("h11", "httptools"), default="h11",
                        help="uvicorn's HTTP parser, the same for every server")
    parser.add_argument("--against", type=Path,
                        help="another checkout of the gateway to measure in the same rounds")
    args = parser.parse_args()

    redis = start_redis()
    tmp = tempfile.TemporaryDirectory()
    config = Path(tmp.name) / "cost.toml"
    config.write_text(CONFIG.format(redis=redis.url))
    try:
        rounds, cpu = measure(args, config)
    finally:
        redis.stop()
        tmp.cleanup()
    report(args, rounds, cpu)


def bare_cmd(port: int, http: str) -> list[str]:
    # the same uvicorn options as `erp-gateway serve`: no Server header, no proxy headers
    return [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
            "--log-level", "warning", "--no-access-log", "--no-server-header",
            "--no-proxy-headers", "--http", http]


def measure(args: argparse.Namespace, config: Path
            ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    names = ("gateway", "body", "response", *(("against",) if args.against else ()))
    ports = {name: free_port() for name in names}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gw = urls["gateway"]
    gateways = {}
    with contextlib.ExitStack() as stack:
        gateways["gateway"] = stack.enter_context(process(
            [*gateway_cmd(config, ports["gateway"]), "--http", args.http],
            ready_url=f"{gw}/healthz"))
        if args.against:
            # `python -m gateway` in that tree imports that tree's packages first
            gateways["against"] = stack.enter_context(process(
                [*gateway_cmd(config, ports["against"]), "--http", args.http],
                ready_url=f"{urls['against']}/healthz", cwd=args.against.resolve(),
                env={"PYTHONPATH": str(args.against.resolve())}))
            for path in SKUS:
                httpx.get(f"{urls['against']}{path}", headers=KEY).raise_for_status()
        # the baselines answer exactly what the gateway answers for the first SKU
        answer = httpx.get(f"{gw}{SKUS[0]}", headers=KEY)
        answer.raise_for_status()
        for path in SKUS:  # warm the cache: the benchmark measures hits
            httpx.get(f"{gw}{path}", headers=KEY).raise_for_status()
        headers = [[k, v] for k, v in answer.headers.items() if k not in SERVER_MADE]
        env = {"BARE_BODY": answer.text, "PYTHONPATH": str(ROOT)}
        for name, extra in (("body", []), ("response", headers)):
            stack.enter_context(process(
                bare_cmd(ports[name], args.http), ready_url=f"{urls[name]}{SKUS[0]}",
                env={**env, "BARE_HEADERS": json.dumps(extra)}))
        copied = httpx.get(f"{urls['response']}{SKUS[0]}")
        if sorted(copied.headers) != sorted(answer.headers) or copied.content != answer.content:
            raise SystemExit(f"the baseline does not answer the same response:\n"
                             f"{copied.headers}\n{answer.headers}")
        rps: dict[str, list[float]] = {name: [] for name in urls}
        cpu: dict[str, list[float]] = {name: [] for name in gateways}
        order = ("body", "response", "gateway", *(("against",) if args.against else ()))
        for _ in range(args.rounds):
            for name in order:
                before = cpu_seconds(gateways[name].pid) if name in gateways else 0.0
                r = run_wrk(urls[name], SKUS, KEY, args.seconds, args.connections)
                if r.non_2xx or r.socket_errors:
                    raise SystemExit(f"errors during the run on {name}: {r}")
                rps[name].append(r.rps)
                if name in gateways:
                    used = cpu_seconds(gateways[name].pid) - before
                    cpu[name].append(used / r.requests * 1e6)
            print("round: " + ", ".join(f"{name} {values[-1]:.0f} req/s"
                                         for name, values in rps.items()), flush=True)
    return rps, cpu


def report(args: argparse.Namespace, rps: dict[str, list[float]],
           cpu: dict[str, list[float]]) -> None:
    """Medians per server, and the ratio paired round by round: servers measured back to back
    share the machine's state, so a round's ratio is steadier than a ratio of medians."""
    med = {name: statistics.median(values) for name, values in rps.items()}
    print(f"machine: {machine()}")
    print(f"wrk: 1 thread, {args.connections} connections, {args.seconds:g} s x "
          f"{args.rounds} rounds, alternating; uvicorn 1 worker each, {args.http}")
    print("| app | median req/s | gateway / this, per round: median (min to max) |")
    print("|---|---|---|")
    for name, label in (("body", "bare Starlette, same body"),
                        ("response", "bare Starlette, same response (body and headers)")):
        ratios = [g / b for g, b in zip(rps["gateway"], rps[name], strict=True)]
        print(f"| {label} | {med[name]:.0f} | {statistics.median(ratios):.2f} "
              f"({min(ratios):.2f} to {max(ratios):.2f}) |")
    print(f"| gateway, full policy chain, cache hit | {med['gateway']:.0f} | |")
    print("goal: gateway / bare >= 0.80")
    if args.against:
        ratios = [g / b for g, b in zip(rps["gateway"], rps["against"], strict=True)]
        print(f"| gateway from {args.against} | {med['against']:.0f} | "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f} to {max(ratios):.3f}) |")
    for name, values in cpu.items():
        print(f"{name}: server CPU per request, median {statistics.median(values):.1f} us "
              f"({min(values):.1f} to {max(values):.1f})")


if __name__ == "__main__":
    main()
