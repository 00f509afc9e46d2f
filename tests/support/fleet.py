"""Real gateway processes for the drills: spawn N ``erp-gateway serve`` and a demo ERP.

Every process binds loopback, is started in its own session and is stopped (SIGTERM, then
SIGKILL) on exit. Readiness is polled over HTTP with a bound; nothing sleeps blindly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.redis_server import free_port

ADMIN = {"X-API-Key": "demo-admin-key"}


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    base: str

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but never answers (a hung host)."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process.poll() is not None:
            self._close_pipes()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGCONT)
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.process.stderr is not None:
            self.process.stderr.close()

    def counter(self, name: str, **labels: str) -> int:
        """One sample from the gateway's /metrics (0 when absent), by name and labels."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.base}/metrics", headers=ADMIN, timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v
                                               for k, v in labels.items()):
                    return int(sample.value)
        return 0


def _wait_http(proc: subprocess.Popen[bytes], url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"process exited with {proc.returncode}:\n{err[-3000:]}")
        try:
            if httpx.get(url, timeout=0.5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")


def spawn(args: Sequence[str], ready_path: str, port: int) -> Proc:
    proc = subprocess.Popen(list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(proc, base + ready_path)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):  # it may have exited by itself
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()
        raise
    return Proc(proc, base)


def demo_erp(latency_ms: float = 5) -> Proc:
    port = free_port()
    return spawn([sys.executable, "-m", "gateway", "demo-erp", "--port", str(port),
                  "--latency-ms", str(latency_ms)], "/health", port)


def gateway(config: Path) -> Proc:
    port = free_port()
    # no access lines: nobody reads this stderr pipe, and a full pipe would stall the server
    return spawn([sys.executable, "-m", "gateway", "serve", "--config", str(config),
                  "--port", str(port), "--workers", "1", "--log-level", "error",
                  "--no-access-log"], "/healthz", port)


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[tuple[Proc, ...]]:
    try:
        yield procs
    finally:
        for proc in procs:
            proc.stop()
