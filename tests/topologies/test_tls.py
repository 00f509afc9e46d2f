"""rediss:// against a real redis-server with TLS and client certificates required."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.redis_settings import RedisSettings, RedisTls
from gateway.services import close_redis, redis_client
from tests.support.redis_server import free_port, redis_binary
from tests.support.tls_certs import Certs, make_certs

pytestmark = pytest.mark.redis


@pytest.fixture
def tls_redis(tmp_path) -> Iterator[tuple[int, Certs]]:
    certs = make_certs(tmp_path)
    port = free_port()
    proc = subprocess.Popen([
        redis_binary(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
        "--save", "", "--appendonly", "no", "--dir", str(tmp_path),
        "--tls-cert-file", str(certs.server_cert), "--tls-key-file", str(certs.server_key),
        "--tls-ca-cert-file", str(certs.ca), "--tls-auth-clients", "yes"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    context = ssl.create_default_context(cafile=str(certs.ca))
    context.load_cert_chain(str(certs.client_cert), str(certs.client_key))
    try:
        for _ in range(200):
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                if "tls" in out.lower():
                    pytest.skip(f"this redis-server cannot serve TLS: {out.strip()[-200:]}")
                raise RuntimeError(f"redis-server exited: {out[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw, \
                        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(b"PING\r\n")
                    if tls.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("TLS redis-server did not answer PING")
        yield port, certs
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_rediss_with_ca_and_client_certificate_reaches_a_tls_redis(tls_redis):
    port, certs = tls_redis
    url = f"rediss://127.0.0.1:{port}/0"
    good = redis_client(RedisSettings(url=url, tls=RedisTls(
        ca_file=str(certs.ca), cert_file=str(certs.client_cert),
        key_file=str(certs.client_key))))
    no_cert = redis_client(RedisSettings(url=url, tls=RedisTls(ca_file=str(certs.ca))))
    untrusted = redis_client(RedisSettings(url=url, tls=RedisTls(
        cert_file=str(certs.client_cert), key_file=str(certs.client_key))))
    try:
        assert await good.set("label:tls", "ok")
        assert await good.get("label:tls") == b"ok"
        with pytest.raises(RedisConnectionError):
            await no_cert.ping()  # the server requires a client certificate
        with pytest.raises(RedisConnectionError):
            await untrusted.ping()  # our CA is not in the system store: refused
    finally:
        for client in (good, no_cert, untrusted):
            await close_redis(client)
