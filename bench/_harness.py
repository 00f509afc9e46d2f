"""Process plumbing shared by the benchmarks: free ports, spawned servers, percentiles.

Every server binds loopback, every loop is bounded, and every process is stopped
on exit (also on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


@contextlib.contextmanager
def process(args: Sequence[str], ready_url: str | None = None,
            env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(list(args), env={**os.environ, **(env or {})}, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        if ready_url:
            try:
                wait_http(ready_url)
            except RuntimeError:
                proc.kill()
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"{args[0]} failed to start:\n{err[-2000:]}") from None
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def gateway_cmd(config: Path, port: int, workers: int = 1) -> list[str]:
    return [sys.executable, "-m", "gateway", "serve", "--config", str(config),
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
            "--no-access-log"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields after the command name: state is [0], utime [11], stime [12] (in clock ticks)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return (f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


WRK_SCRIPT = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("%(method)s", paths[(i %% #paths) + 1], headers, %(body)s)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class WrkResult:
    requests: int
    socket_errors: int
    non_2xx: int
    p50_ms: float
    p99_ms: float
    seconds: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def wrk_command(base: str, paths: Sequence[str], headers: dict[str, str], seconds: float,
                connections: int, script_dir: Path, method: str = "GET",
                body: str | None = None) -> tuple[list[str], Path]:
    """A wrk invocation that cycles through ``paths`` (needs Debian's ``wrk``)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    lua = WRK_SCRIPT % {
        "paths": ", ".join(f'"{p}"' for p in paths),
        "headers": ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()),
        "method": method,
        "body": "nil" if body is None else json.dumps(body),
    }
    script = script_dir / f"wrk-{abs(hash((base, tuple(paths))))}.lua"
    script.write_text(lua)
    return (["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script),
             base], script)


def parse_wrk(output: str, seconds: float) -> WrkResult:
    for line in output.splitlines():
        if line.startswith("RESULT "):
            n, sock, status, p50, p99 = (int(x) for x in line.split()[1:])
            return WrkResult(n, sock, status, p50 / 1000, p99 / 1000, seconds)
    raise RuntimeError(f"wrk printed no result:\n{output[-2000:]}")


def run_wrk(base: str, paths: Sequence[str], headers: dict[str, str], seconds: float,
            connections: int, method: str = "GET", body: str | None = None) -> WrkResult:
    with tempfile.TemporaryDirectory() as tmp:
        cmd, _ = wrk_command(base, paths, headers, seconds, connections, Path(tmp), method, body)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    return parse_wrk(out.stdout, seconds)
