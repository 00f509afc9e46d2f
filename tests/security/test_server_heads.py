"""Request heads against a real ``erp-gateway serve`` process (uvicorn in front).

A head within the gateway's limits must reach the gateway, so that one beyond them is a
431 or 414 problem, not the server's bare text; the server's own buffer is sized from
the limits (``gateway.cli.server_buffer_bytes``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from gateway.cli import server_buffer_bytes
from policies.limits import InputLimits


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--http", "h11"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for _ in range(300):  # up to 30 s on a loaded machine
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("erp-gateway serve exited") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _raw(port: int, head: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    top, _, body = data.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _head(fields: list[tuple[str, str]]) -> bytes:
    lines = ["GET /v1/inventory/SKU-0001 HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             "X-API-Key: demo-storefront-key"] + [f"{k}: {v}" for k, v in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_headers_just_beyond_the_limit_get_the_gateways_431_problem(server):
    limits = InputLimits()
    status, headers, body = _raw(server, _head([("X-Filler", "x" * limits.max_header_bytes)]))
    assert status == 431
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["status"] == 431


def test_a_thousand_header_fields_get_the_gateways_431_problem(server):
    status, headers, _ = _raw(server, _head([(f"X-F{i}", "1") for i in range(1000)]))
    assert status == 431 and headers["content-type"] == "application/problem+json"


def test_a_head_within_the_limits_is_served(server):
    status, _, body = _raw(server, _head([("X-Filler", "x" * 8000)]))
    assert status == 200, body
    assert json.loads(body)["sku"] == "SKU-0001"


def test_the_server_buffer_holds_every_head_the_limits_allow():
    limits = InputLimits()
    largest = (limits.max_path_bytes + limits.max_query_bytes
               + limits.max_header_bytes + 4 * limits.max_header_count)
    assert server_buffer_bytes(limits) > largest
