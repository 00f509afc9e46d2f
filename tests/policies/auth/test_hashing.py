from __future__ import annotations

import hashlib
import io

import pytest

from policies.auth import hash_api_key, hash_secret, verify_secret
from policies.auth.__main__ import main
from policies.auth.hashing import parse_scrypt_hash

CHEAP = {"n": 2**10, "r": 8, "p": 1}


def test_secret_hash_is_self_describing_salted_and_verifies() -> None:
    first = hash_secret("s3cret", **CHEAP)
    second = hash_secret("s3cret", **CHEAP)
    assert first.startswith("scrypt$1024$8$1$")
    assert first != second  # per-secret salt
    assert "s3cret" not in first
    assert verify_secret("s3cret", first)
    assert verify_secret("s3cret", second)
    assert not verify_secret("s3creT", first)
    assert not verify_secret("", first)


def test_default_parameters_are_strong() -> None:
    parsed = parse_scrypt_hash(hash_secret("x"))
    assert (parsed.n, parsed.r, parsed.p) == (2**15, 8, 1)
    assert len(parsed.salt) == 16 and len(parsed.digest) == 32


@pytest.mark.parametrize("hashed", [
    "", "sha256$" + "0" * 64, "scrypt$1024$8$1$salt", "scrypt$1000$8$1$AAAAAAAAAAA$" + "A" * 43,
    "scrypt$2097152$8$1$AAAAAAAAAAA$" + "A" * 43, "scrypt$1048576$8$1$AAAAAAAAAAA$" + "A" * 43,
    "scrypt$x$8$1$AAAAAAAAAAA$" + "A" * 43,
])
def test_malformed_or_unbounded_hashes_never_verify(hashed: str) -> None:
    assert not verify_secret("anything", hashed)


def test_api_key_hash_is_plain_sha256() -> None:
    assert hash_api_key("k") == "sha256$" + hashlib.sha256(b"k").hexdigest()


def test_cli_hashes_stdin_without_echoing_it(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("demo-key\n"))
    assert main(["api-key"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == hash_api_key("demo-key")


def test_cli_generates_a_key_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api-key", "--generate"]) == 0
    key, hashed = capsys.readouterr().out.split()
    assert len(key) >= 43
    assert hashed == hash_api_key(key)
