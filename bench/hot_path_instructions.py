"""Instructions per cached read, counted by callgrind: a figure other load does not move.

Runs the whole app in-process (policy chain, routing, handler, response) for a cached
``GET /v1/inventory/SKU-0001`` with the demo storefront key, N times, driving the ASGI
callable directly (no server, no sockets). Under ``valgrind --tool=callgrind`` the
difference between a run of N requests and a run of 0 divided by N is the instruction
count of one request, repeatable to a fraction of a percent whatever else the machine does.

    python bench/hot_path_instructions.py --compare REV [--requests 2000]

checks REV out into a temporary worktree and prints both counts and their ratio (this
tree first). ``--requests N`` alone runs the loop once (what callgrind is pointed at).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _loop(requests: int) -> None:
    sys.path.insert(0, os.getcwd())
    from gateway.app import create_app
    from gateway.settings import Settings

    app = create_app(Settings.embedded_demo())
    headers = [(b"host", b"bench"), (b"x-api-key", b"demo-storefront-key")]
    scope_template = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                      "method": "GET", "scheme": "http", "path": "/v1/inventory/SKU-0001",
                      "raw_path": b"/v1/inventory/SKU-0001", "query_string": b"",
                      "root_path": "", "headers": headers, "client": ("127.0.0.1", 5000),
                      "server": ("127.0.0.1", 8080)}
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))  # type: ignore[call-overload]

    async with app.router.lifespan_context(app):
        for _ in range(3):  # fill the cache and every lazy structure first
            await app(dict(scope_template), receive, send)
        statuses.clear()
        for _ in range(requests):
            await app(dict(scope_template), receive, send)
    if set(statuses) - {200}:
        raise SystemExit(f"unexpected statuses {sorted(set(statuses))}")


def _instructions(tree: Path, requests: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, str(ROOT / "bench" / "hot_path_instructions.py"),
                        "--requests", str(requests)], cwd=tree, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONHASHSEED": "0"})
        text = out.read_text(errors="replace")
    found = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)",
                                                                        text, re.M)
    if found is None:
        raise RuntimeError("callgrind printed no total")
    return int(found.group(1))


def _per_request(tree: Path, requests: int) -> float:
    return (_instructions(tree, requests) - _instructions(tree, 0)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--compare", metavar="REV")
    args = parser.parse_args()
    if args.compare is None:
        asyncio.run(_loop(args.requests or 0))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install -y valgrind")
    n = args.requests or 2000
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old),
                        args.compare], check=True, capture_output=True)
        try:
            here = _per_request(ROOT, n)
            then = _per_request(old, n)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False, capture_output=True)
    print(f"| tree | instructions per cached read ({n} requests, callgrind) |")
    print("|---|---|")
    print(f"| this tree | {here:,.0f} |")
    print(f"| {args.compare} | {then:,.0f} |")
    print(f"\nratio this / {args.compare}: {here / then:.3f}")


if __name__ == "__main__":
    main()
