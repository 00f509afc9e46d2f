"""Wrong ERP credentials are noticed: ``check-config --connect``, and failed logins back
off exponentially with jitter instead of hammering a Tryton that locks users out."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.erp.base import ErpUnavailable
from gateway.erp.tryton import TrytonConnector
from gateway.erp.tryton.session import LoginBackoff
from tests.tryton.conftest import RecordingTransport, TrytonServer

pytestmark = pytest.mark.tryton


def test_login_pauses_double_with_jitter_up_to_the_ceiling() -> None:
    now = [0.0]
    backoff = LoginBackoff(5, 300, rng=random.Random(1), clock=lambda: now[0])
    error = ErpUnavailable("refused")

    pauses = [backoff.failed(error) for _ in range(9)]

    bounds = [min(300, 5 * 2 ** n) for n in range(9)]
    assert all(b / 2 <= p <= b for p, b in zip(pauses, bounds, strict=True)), pauses
    assert len(set(pauses)) == len(pauses)  # jittered, not in step
    assert backoff.blocked() is error
    now[0] += pauses[-1]
    assert backoff.blocked() is None
    backoff.succeeded()
    assert backoff.failed(error) <= 5  # a success starts over


def test_two_replicas_do_not_retry_in_step() -> None:
    error = ErpUnavailable("refused")
    a = LoginBackoff(5, 300, rng=random.Random(1))
    b = LoginBackoff(5, 300, rng=random.Random(2))

    assert [a.failed(error) for _ in range(4)] != [b.failed(error) for _ in range(4)]


async def test_repeated_failed_logins_wait_out_their_pause(tryton_server: TrytonServer) -> None:
    recorder = RecordingTransport()
    client = TrytonConnector(
        tryton_server.config(username="nobody", password="wrong-password"), transport=recorder)
    now = [0.0]
    client.session.backoff = LoginBackoff(5, 300, rng=random.Random(3), clock=lambda: now[0])
    try:
        for _ in range(5):
            with pytest.raises(ErpUnavailable):
                await client.availability(["SKU-001"])
        assert recorder.methods.count("common.db.login") == 1
        now[0] += 5
        with pytest.raises(ErpUnavailable):
            await client.availability(["SKU-001"])
    finally:
        await client.aclose()

    assert recorder.methods.count("common.db.login") == 2
    assert client.session.backoff.failures == 2


def _config(tmp_path: Path, server: TrytonServer, password: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        "demo = true\n[erp]\nkind = \"tryton\"\n"
        f"url = \"{server.url}\"\ndatabase = \"{server.database}\"\n"
        f"username = \"{server.username}\"\npassword = \"{password}\"\n")
    return path


def test_check_config_connect_logs_in_and_says_so(
        tmp_path: Path, tryton_server: TrytonServer, capsys: pytest.CaptureFixture[str]) -> None:
    good = _config(tmp_path, tryton_server, tryton_server.password)

    assert main(["check-config", "--connect", str(good)]) == 0
    out = capsys.readouterr().out
    assert "ok; logged in to Tryton database 'gateway'" in out
    assert tryton_server.password not in out


def test_check_config_connect_fails_on_wrong_credentials_with_the_reason(
        tmp_path: Path, tryton_server: TrytonServer, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_config(tmp_path, tryton_server, "wrong-password").read_text()
                    .replace(f"username = \"{tryton_server.username}\"",
                             "username = \"nobody-else\""))

    assert main(["check-config", "--connect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "valid, but the ERP cannot be used" in err and "nobody-else" in err
    assert "wrong-password" not in err
