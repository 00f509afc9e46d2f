"""A real trytond for the tier: database created, seeded through proteus, then served.

Order matters: ``trytond-admin`` creates the SQLite database (about a minute), proteus
seeds it from this process, and only then is ``trytond`` started, because Tryton's
caches live per process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.erp.tryton import TrytonConfig, TrytonConnector
from tests.support.redis_server import free_port
from tests.tryton.seed import Seeded, seed

DATABASE = "gateway"
ADMIN = "admin"
BIN = Path(sys.executable).parent


@dataclass
class TrytonServer:
    url: str
    database: str
    username: str
    password: str
    seeded: Seeded
    proteus: Any  # proteus.config.TrytondConfig bound to the same database
    process: subprocess.Popen[bytes]
    log: Path

    def config(self, **overrides: Any) -> TrytonConfig:
        values: dict[str, Any] = {
            "url": self.url,
            "database": self.database,
            "username": self.username,
            "password": self.password,
        }
        return TrytonConfig(**(values | overrides))


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, plus the JSON-RPC method and Authorization header of every request."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.methods: list[str] = []
        self.authorizations: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(json.loads(request.content)["method"])
        self.authorizations.append(request.headers.get("Authorization"))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _clean_env(**extra: str) -> dict[str, str]:
    # TRYTOND_<SECTION>__<OPTION> variables would override the test configuration
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}
    return env | extra


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _create_database(workdir: Path, conf: Path, password: str) -> None:
    passfile = workdir / "admin.pass"
    passfile.write_text(password + "\n")
    (workdir / f"{DATABASE}.sqlite").touch()  # the sqlite backend opens, never creates
    log = workdir / "trytond-admin.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [
                str(BIN / "trytond-admin"), "-c", str(conf), "-d", DATABASE, "--all",
                "-u", "sale_price_list", "--activate-dependencies",
                "--email", "admin@example.com",
            ],
            env=_clean_env(TRYTONPASSFILE=str(passfile)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    if done.returncode != 0:
        raise RuntimeError(f"trytond-admin failed ({done.returncode}):\n{_tail(log)}")


def _proteus(conf: Path) -> Any:
    with warnings.catch_warnings():
        # trytond 8.2's protocols/rest.py imports the deprecated trytond.config.config alias
        warnings.filterwarnings(
            "ignore", "trytond.config.config is deprecated", DeprecationWarning
        )
        from proteus import config as proteus_config

        return proteus_config.set_trytond(database=DATABASE, config_file=str(conf))


def _serve(conf: Path, log: Path, url: str, password: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "trytond"), "-c", str(conf), "-d", DATABASE],
            env=_clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    login = {"id": 0, "method": "common.db.login", "params": [ADMIN, {"password": password}]}
    deadline = time.monotonic() + 60
    with httpx.Client(trust_env=False, timeout=30) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"trytond exited with {process.returncode}:\n{_tail(log)}")
            try:
                # a first login also loads the database's pool, so tests start warm
                answer = client.post(f"{url}/{DATABASE}/rpc/", json=login)
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if answer.status_code == 200 and "result" in answer.json():
                return process
            break
    _stop(process)
    raise RuntimeError(f"trytond did not accept a login:\n{_tail(log)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def tryton_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """trytond on a free loopback port, serving a freshly created and seeded database."""
    workdir = tmp_path_factory.mktemp("tryton")
    port = free_port()
    conf = workdir / "trytond.conf"
    conf.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {workdir}\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port}\n"
    )
    password = secrets.token_urlsafe(16)
    _create_database(workdir, conf, password)
    proteus = _proteus(conf)
    seeded = seed(proteus)
    url = f"http://127.0.0.1:{port}"
    log = workdir / "trytond.log"
    process = _serve(conf, log, url, password)
    try:
        yield TrytonServer(
            url=url, database=DATABASE, username=ADMIN, password=password,
            seeded=seeded, proteus=proteus, process=process, log=log,
        )
    finally:
        _stop(process)


@pytest.fixture
async def recorder() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
async def connector(
    tryton_server: TrytonServer, recorder: RecordingTransport
) -> AsyncIterator[TrytonConnector]:
    """A connector on the session's trytond, its requests recorded by ``recorder``."""
    client = TrytonConnector(tryton_server.config(), transport=recorder)
    try:
        yield client
    finally:
        await client.aclose()
