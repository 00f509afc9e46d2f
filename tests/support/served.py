"""A real ``erp-gateway serve`` process (one worker or several) on a loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from policies.auth.hashing import hash_api_key

STOREFRONT_KEY = "served-storefront-key-1"
ADMIN_KEY = "served-admin-key-1"
NEW_CLIENT_KEY = "served-newcomer-key-1"

BASE_CONFIG = """\
[server]
host = "127.0.0.1"
port = {port}
workers = {workers}
drain_seconds = {drain}
graceful_timeout_seconds = 5

[erp]
kind = "http-demo"
url = "{erp_url}"

[shipping]
accounts = []
[shipping.idempotency]
backend = "sqlite"
sqlite_path = "{labels}"

[auth.token]
issuer = "https://gateway.test"
audience = "erp-gateway"

[[auth.signing_keys]]
kid = "served-1"
algorithm = "Ed25519"
private_key_pem = \"\"\"{pem}\"\"\"

[[auth.clients]]
id = "acme-storefront"
api_key_hashes = ["{storefront}"]
scopes = ["inventory:read", "prices:read"]

[[auth.clients]]
id = "ops"
api_key_hashes = ["{admin}"]
scopes = ["admin"]
{extra}
"""


def _pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(port: int, workers: int, drain: float, extra: str = "",
                erp_url: str = "http://127.0.0.1:9", labels: str = "/tmp/labels.sqlite") -> str:
    return BASE_CONFIG.format(port=port, workers=workers, drain=drain, pem=_pem(),
                              erp_url=erp_url, labels=labels,
                              storefront=hash_api_key(STOREFRONT_KEY),
                              admin=hash_api_key(ADMIN_KEY), extra=extra)


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    config: Path
    # every stderr line the server wrote so far (JSON log lines)
    lines: list[str] = field(default_factory=list)

    def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.lines[seen:]:
                if needle in line:
                    return line
            seen = len(self.lines)
            time.sleep(0.05)
        raise AssertionError(f"no log line with {needle!r}; last lines:\n"
                             + "\n".join(self.lines[-20:]))


@contextlib.contextmanager
def serve(workers: int = 2, drain: float = 0.0, extra: str = "",
          args: tuple[str, ...] = (), erp_latency_ms: float = 0) -> Iterator[Served]:
    """Start the gateway (and a demo ERP for it) on free ports; SIGKILL both on exit."""
    port = free_port()
    erp_port = free_port()
    with tempfile.TemporaryDirectory() as tmp, _demo_erp(erp_port, erp_latency_ms):
        config = Path(tmp) / "gateway.toml"
        config.write_text(config_text(port, workers, drain, extra,
                                      f"http://127.0.0.1:{erp_port}",
                                      str(Path(tmp) / "labels.sqlite")))
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        served = Served(proc, f"http://127.0.0.1:{port}", config)
        assert proc.stderr is not None
        stderr = proc.stderr

        def pump() -> None:
            for raw in stderr:
                served.lines.append(raw.decode(errors="replace").rstrip("\n"))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            _wait_ready(served, workers)
            yield served
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            reader.join(5)
            stderr.close()


@contextlib.contextmanager
def _demo_erp(port: int, latency_ms: float) -> Iterator[None]:
    """``erp-gateway demo-erp`` as its own process: the ERP the served gateway reads."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo-erp", "--port", str(port), "--latency-ms",
         str(latency_ms)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/stats", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the demo ERP did not start")
            time.sleep(0.05)
        yield
    finally:
        proc.kill()
        proc.wait(10)


def _wait_ready(served: Served, workers: int, timeout: float = 60.0) -> None:
    """Until every worker has started (each logs "Application startup complete")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise AssertionError("the gateway exited:\n" + "\n".join(served.lines[-30:]))
        started = sum("Application startup complete" in line for line in served.lines)
        if started >= workers:
            try:
                if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    raise AssertionError("the gateway did not start:\n" + "\n".join(served.lines[-30:]))
