"""deploy/haproxy.cfg: valid for HAProxy, and, with its servers pointed at three gateway
processes on loopback, the setting it was written for: balanced, readiness-checked, the
client's address forwarded and believed, a spoofed one not."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.deploy.support import DEPLOY, ROOT, required_tool
from tests.support.redis_server import free_port

STARTUP_SECONDS = 30
# the test's client connects from another loopback address than the balancer's
CLIENT = "127.0.0.2"
STOREFRONT = {"X-API-Key": "demo-storefront-key"}


def test_haproxy_accepts_the_config() -> None:
    haproxy = required_tool("haproxy", "apt-get install -y haproxy")
    done = subprocess.run([haproxy, "-c", "-f", str(DEPLOY / "haproxy.cfg")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr


def on_loopback(config: str, port: int, servers: list[int]) -> str:
    """The shipped config with its DNS-discovered servers replaced by loopback ones."""
    config = re.sub(r"\nresolvers docker\n(?:    .*\n)+", "\n", config)
    config = config.replace("bind :8080", f"bind 127.0.0.1:{port}")
    config = re.sub(r" resolvers docker init-addr \S+", "", config)
    lines = [f"    server gateway{i} 127.0.0.1:{p}" for i, p in enumerate(servers, 1)]
    config, count = re.subn(r"    server-template .*", "\n".join(lines), config)
    assert count == 1 and "resolvers" not in config
    return config


def _wait(url: str, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"{proc.args} exited with {proc.returncode}:\n"
                        + log.read().decode(errors="replace"))
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {STARTUP_SECONDS} s")
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="module")
def balanced() -> Iterator[tuple[str, list[subprocess.Popen[bytes]], list[IO[bytes]]]]:
    haproxy = required_tool("haproxy", "apt-get install -y haproxy")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        config = Path(tmp) / "gateway.toml"
        config.write_text('demo = true\n[proxies]\ntrusted = ["127.0.0.1"]\n')
        ports = [free_port() for _ in range(3)]
        gateways, logs = [], []
        for port in ports:
            log = stack.enter_context(tempfile.TemporaryFile())
            proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port",
                 str(port), "--access-log", "--log-level", "info"],
                cwd=ROOT, stdout=log, stderr=log)
            stack.callback(_stop, proc)
            gateways.append(proc)
            logs.append(log)
        for proc, port, log in zip(gateways, ports, logs, strict=True):
            _wait(f"http://127.0.0.1:{port}/healthz", proc, log)
        lb_port = free_port()
        lb_config = Path(tmp) / "haproxy.cfg"
        lb_config.write_text(on_loopback((DEPLOY / "haproxy.cfg").read_text(), lb_port, ports))
        lb_log = stack.enter_context(tempfile.TemporaryFile())
        lb = subprocess.Popen([haproxy, "-db", "-f", str(lb_config)], stdout=lb_log,
                              stderr=lb_log)
        stack.callback(_stop, lb)
        base = f"http://127.0.0.1:{lb_port}"
        _wait(base + "/healthz", lb, lb_log)
        # every server has passed its first readiness check (rise 2 at 1 s)
        deadline = time.monotonic() + STARTUP_SECONDS
        served: set[int] = set()
        with httpx.Client(base_url=base) as client:
            while len(served) < 3 and time.monotonic() < deadline:
                client.get("/healthz")
                served = {i for i, log in enumerate(logs) if _lines(log, "/healthz")}
                time.sleep(0.05)
        yield base, gateways, logs


def _lines(log: IO[bytes], marker: str) -> list[str]:
    log.seek(0)
    return [line for line in log.read().decode(errors="replace").splitlines() if marker in line]


def test_requests_are_spread_and_the_forwarded_client_is_believed(
        balanced: tuple[str, list[subprocess.Popen[bytes]], list[IO[bytes]]]) -> None:
    base, _, logs = balanced
    transport = httpx.HTTPTransport(local_address=CLIENT)
    with httpx.Client(base_url=base, transport=transport) as client:
        answers = [client.get("/v1/inventory/SKU-0001?spread", headers={
            **STOREFRONT, "X-Forwarded-For": "10.9.9.9", "X-Forwarded-Proto": "https"})
            for _ in range(30)]
    assert [a.status_code for a in answers] == [200] * 30
    # the access log line is written after the response: wait for all 30 (bounded)
    deadline = time.monotonic() + 10
    while True:
        # the gateway's JSON access lines (query values redacted: the marker is its name)
        per_replica = [_lines(log, '"query":"spread=*"') for log in logs]
        if sum(len(lines) for lines in per_replica) >= 30 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sum(len(lines) for lines in per_replica) == 30
    assert all(per_replica), [len(lines) for lines in per_replica]
    for line in (x for lines in per_replica for x in lines):
        # the balancer's own address is replaced by the client's; the spoof is ignored
        assert json.loads(line)["client_ip"] == CLIENT and "10.9.9.9" not in line, line


# last in this module: it kills one of the shared replicas
def test_a_replica_that_dies_costs_no_request(
        balanced: tuple[str, list[subprocess.Popen[bytes]], list[IO[bytes]]]) -> None:
    base, gateways, _ = balanced
    gateways[0].send_signal(signal.SIGKILL)
    gateways[0].wait(10)
    with httpx.Client(base_url=base) as client:
        answers = [client.get("/v1/inventory/SKU-0002", headers=STOREFRONT) for _ in range(30)]
    assert [a.status_code for a in answers] == [200] * 30
