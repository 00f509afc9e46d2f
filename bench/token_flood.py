"""Wrong client secrets flooding ``/oauth/token``: how long a bystander's token request
waits, and what the flood costs the gateway.

One gateway process on the embedded demo (its clients' secrets are scrypt hashes with the
default parameters, about 0.1 s each). Rounds alternate:

- quiet: one token request of ``demo-warehouse`` (right secret), alone;
- flood: 300 wrong-secret requests at 64 concurrent for a client id of their own (unknown
  ids cost what known ones do), from a loopback address of their own, and the same
  bystander request from another address once the first flood answer is back.

Per round: the bystander's latency, the flood's status counts, and the gateway's CPU
(utime + stime from /proc/PID/stat) over the round. Prints a Markdown table.

    .venv/bin/python bench/token_flood.py [--rounds 4] [--attempts 300] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
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


async def quiet(base: str) -> tuple[int, float]:
    async with client(base, "127.0.0.2", 1) as http:
        return await token(http, *BYSTANDER)


async def flood(base: str, round_no: int, attempts: int,
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
        bystander = await quiet(base)
        statuses = Counter(await asyncio.gather(*tasks))
    return statuses, bystander


async def run(base: str, pid: int, rounds: int, attempts: int, concurrency: int) -> None:
    await quiet(base)  # warm up: imports, first connection
    rows = []
    for round_no in range(rounds):
        before = cpu_seconds(pid)
        status, alone = await quiet(base)
        quiet_cpu = cpu_seconds(pid) - before
        before = cpu_seconds(pid)
        statuses, (b_status, during) = await flood(base, round_no, attempts, concurrency)
        flood_cpu = cpu_seconds(pid) - before
        rows.append((round_no + 1, status, alone, quiet_cpu, statuses, b_status, during,
                     flood_cpu))
    print(f"\nMachine: {machine()}\n")
    print(f"{attempts} wrong secrets at {concurrency} concurrent per flood round\n")
    print("| round | bystander alone (ms) | bystander during flood (ms) | ratio | flood "
          "answers | gateway CPU, flood round (s) | CPU per flood request (ms) |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for n, status, alone, _, statuses, b_status, during, cpu in rows:
        ratios.append(during / alone)
        answers = ", ".join(f"{count} x {code}" for code, count in sorted(statuses.items()))
        print(f"| {n} | {alone * 1000:.0f} ({status}) | {during * 1000:.0f} ({b_status}) | "
              f"{during / alone:.2f} | {answers} | {cpu:.2f} | {cpu / attempts * 1000:.1f} |")
    print(f"\nratio median {statistics.median(ratios):.2f}, range "
          f"{min(ratios):.2f} to {max(ratios):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    config = Path(tempfile.mkdtemp(prefix="token-flood-")) / "gateway.toml"
    config.write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(gateway_cmd(config, port), ready_url=f"{base}/healthz") as proc:
        # the CLI execs uvicorn in this process; with one worker it serves here
        asyncio.run(run(base, proc.pid, args.rounds, args.attempts, args.concurrency))


if __name__ == "__main__":
    main()
