"""``erp-gateway serve`` terminating TLS itself (a self-signed certificate made here) and
logging the client a trusted proxy names."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A P-256 certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "erp-gateway test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _wait(proc: subprocess.Popen[bytes], log: IO[bytes], url: str, context: ssl.SSLContext
          ) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"the server exited with {proc.returncode}:\n"
                        + log.read().decode(errors="replace"))
        try:
            if httpx.get(url, verify=context, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer {url} within {STARTUP_SECONDS} s")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[str, ssl.SSLContext, IO[bytes]]]:
    """The demo over https, trusting loopback as its proxy, with the access log on."""
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as log:
        cert, key = self_signed(Path(tmp))
        config = Path(tmp) / "gateway.toml"
        config.write_text(f'demo = true\n[server.tls]\ncertfile = "{cert}"\nkeyfile = "{key}"\n'
                          '[proxies]\ntrusted = ["127.0.0.1"]\n')
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port",
             str(port), "--access-log", "--log-level", "info"],
            cwd=ROOT, stdout=log, stderr=log)
        context = ssl.create_default_context(cafile=str(cert))
        base = f"https://127.0.0.1:{port}"
        try:
            _wait(proc, log, base + "/healthz", context)
            yield base, context, log
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_the_gateway_serves_https_with_its_own_certificate(
        tls_server: tuple[str, ssl.SSLContext, IO[bytes]]) -> None:
    base, context, _ = tls_server
    answer = httpx.get(base + "/v1/inventory/SKU-0001", verify=context,
                       headers={"X-API-Key": "demo-storefront-key"})
    assert answer.status_code == 200
    assert answer.json()["sku"] == "SKU-0001"
    with pytest.raises(httpx.ConnectError):  # nobody else's trust store knows it
        httpx.get(base + "/healthz", verify=ssl.create_default_context())
    plain = base.replace("https://", "http://")
    with pytest.raises(httpx.TransportError):
        httpx.get(plain + "/healthz", timeout=5)


def test_the_access_log_names_the_client_the_trusted_proxy_forwarded(
        tls_server: tuple[str, ssl.SSLContext, IO[bytes]]) -> None:
    base, context, log = tls_server
    answer = httpx.get(base + "/healthz?marker=forwarded", verify=context,
                       headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7"})
    assert answer.status_code == 200
    deadline = time.monotonic() + 10
    line = ""
    while time.monotonic() < deadline and not line:
        log.seek(0)
        # the gateway's JSON access line (query values redacted: the marker is its name)
        line = next((x for x in log.read().decode(errors="replace").splitlines()
                     if '"query":"marker=*"' in x), "")
        if not line:
            time.sleep(0.05)
    assert json.loads(line)["client_ip"] == "203.0.113.7", line
    assert "6.6.6.6" not in line and "127.0.0.1" not in line


def test_tls_needs_both_files(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f'demo = true\n[server.tls]\ncertfile = "{tmp_path}/missing.pem"\n'
                      f'keyfile = "{tmp_path}/missing-key.pem"\n')
    done = subprocess.run([sys.executable, "-m", "gateway", "serve", "--config", str(config),
                           "--port", str(free_port())], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "missing.pem cannot be read" in done.stderr
