"""Wrong client secrets flooding ``/oauth/token``: how long a bystander's token request
waits, and what the flood costs the gateway.

One gateway process on the embedded demo (its clients' secrets are scrypt hashes with the
default parameters, about 0.1 s each). Rounds alternate:

- quiet: one token request of ``demo-warehouse`` (right secret), alone;
- flood: 300 wrong-secret requests at 64 concurrent for a client id of their own (unknown
  ids cost what known ones do), from a loopback address of their own, and the same
  bystander request from another address once the first flood answer is back.

The bystander runs in a process of its own, so its latency is the gateway's and not that
of the process driving the flood.

Per round: the bystander's latency, the flood's status counts, and the gateway's CPU
(utime + stime from /proc/PID/stat) over the round. Prints a Markdown table.

    .venv/bin/python bench/token_flood.py [--rounds 4] [--attempts 300] [--concurrency 64]
    .venv/bin/python bench/token_flood.py --code ../other-checkout   # serve that code instead
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from _harness import free_port, gateway_cmd, machine, process

CONFIG = "demo = true\n"
BYSTANDER = ("demo-warehouse", "demo-warehouse-secret")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def client(base: str, address: str, connections: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections))
    return httpx.AsyncClient(base_url=base, transport=transport, timeout=120, trust_env=False)


async def token(http: httpx.AsyncClient, client_id: str, secret: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
    return response.status_code, time.perf_counter() - started


# the bystander process: imports first, then one request per line read, timed
BYSTANDER_SCRIPT = """
import sys, time, httpx
transport = httpx.HTTPTransport(local_address="127.0.0.2")
with httpx.Client(base_url=sys.argv[1], transport=transport, timeout=120,
                  trust_env=False) as http:
    print("ready", flush=True)
    for _ in sys.stdin:
        started = time.perf_counter()
        response = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(sys.argv[2], sys.argv[3]))
        print(response.status_code, time.perf_counter() - started, flush=True)
"""


class Bystander:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls, base: str) -> Bystander:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", BYSTANDER_SCRIPT, base, *BYSTANDER,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        await proc.stdout.readline()  # "ready"
        return cls(proc)

    async def request(self) -> tuple[int, float]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(b"go\n")
        await self._proc.stdin.drain()
        status, seconds = (await self._proc.stdout.readline()).split()
        return int(status), float(seconds)

    async def stop(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        await self._proc.wait()


async def flood(base: str, bystander: Bystander, round_no: int, attempts: int,
                concurrency: int) -> tuple[Counter[int], tuple[int, float]]:
    first = asyncio.Event()
    gate = asyncio.Semaphore(concurrency)
    attacker = client(base, f"127.0.0.{10 + round_no}", concurrency)

    async def one(i: int) -> int:
        async with gate:
            status, _ = await token(attacker, f"ghost-{round_no}", f"wrong-{i}")
        first.set()
        return status

    async with attacker:
        tasks = [asyncio.create_task(one(i)) for i in range(attempts)]
        await first.wait()
        answer = await bystander.request()
        statuses = Counter(await asyncio.gather(*tasks))
    return statuses, answer


async def run(base: str, pid: int, rounds: int, attempts: int, concurrency: int) -> None:
    bystander = await Bystander.start(base)
    await bystander.request()  # warm up: the first connection
    rows = []
    try:
        for round_no in range(rounds):
            before = cpu_seconds(pid)
            status, alone = await bystander.request()
            quiet_cpu = cpu_seconds(pid) - before
            before = cpu_seconds(pid)
            statuses, (b_status, during) = await flood(base, bystander, round_no, attempts,
                                                       concurrency)
            flood_cpu = cpu_seconds(pid) - before
            rows.append((round_no + 1, status, alone, quiet_cpu, statuses, b_status, during,
                         flood_cpu))
    finally:
        await bystander.stop()
    print(f"\nMachine: {machine()}\n")
    print(f"{attempts} wrong secrets at {concurrency} concurrent per flood round\n")
    print("| round | bystander alone (ms) | gateway CPU for it (ms) | bystander during flood "
          "(ms) | ratio | flood answers | gateway CPU, flood round (s) | CPU per flood "
          "request (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    ratios = []
    for n, status, alone, quiet_cpu, statuses, b_status, during, cpu in rows:
        ratios.append(during / alone)
        answers = ", ".join(f"{count} x {code}" for code, count in sorted(statuses.items()))
        print(f"| {n} | {alone * 1000:.0f} ({status}) | {quiet_cpu * 1000:.0f} | "
              f"{during * 1000:.0f} ({b_status}) | {during / alone:.2f} | {answers} | "
              f"{cpu:.2f} | {cpu / attempts * 1000:.1f} |")
    print(f"\nratio median {statistics.median(ratios):.2f}, range "
          f"{min(ratios):.2f} to {max(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--code", type=Path, default=None,
                        help="serve the gateway from this checkout (e.g. an earlier commit)")
    args = parser.parse_args()
    env = {"PYTHONPATH": str(args.code.resolve())} if args.code else None
    config = Path(tempfile.mkdtemp(prefix="token-flood-")) / "gateway.toml"
    config.write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(gateway_cmd(config, port), ready_url=f"{base}/healthz", env=env) as proc:
        # the CLI execs uvicorn in this process; with one worker it serves here
        asyncio.run(run(base, proc.pid, args.rounds, args.attempts, args.concurrency))


if __name__ == "__main__":
    main()
