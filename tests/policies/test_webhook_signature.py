from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from starlette.datastructures import Headers

from policies.webhook_signature import (
    FRAPPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    check_timestamp,
    sign,
    sign_frappe,
    verify,
)

SECRET = b"s3cret-webhook-key"
BODY = b'{"doctype":"Item","name":"SKU-0001","modified":"2025-01-01 10:00:00"}'
NOW = 1_700_000_000


def reason(exc: pytest.ExceptionInfo[SignatureError]) -> str:
    return exc.value.reason


def test_v1_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    headers = sign(BODY, SECRET, NOW)
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"v1={expected}"}


def test_signed_request_verifies() -> None:
    assert verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + 10) == "v1"


def test_headers_are_matched_case_insensitively() -> None:
    lowered = {k.lower(): v for k, v in sign(BODY, SECRET, NOW).items()}
    assert verify(BODY, lowered, SECRET, now=NOW) == "v1"
    raw = [(k.lower().encode(), v.encode()) for k, v in sign(BODY, SECRET, NOW).items()]
    assert verify(BODY, Headers(raw=raw), SECRET, now=NOW) == "v1"


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY + b" ", sign(BODY, SECRET, NOW), SECRET, now=NOW)
    assert reason(exc) == "bad-signature"


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, sign(BODY, b"other", NOW), SECRET, now=NOW)
    assert reason(exc) == "bad-signature"


def test_timestamp_is_covered_by_the_signature() -> None:
    headers = sign(BODY, SECRET, NOW)
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    with pytest.raises(SignatureError) as exc:
        verify(BODY, headers, SECRET, now=NOW)
    assert reason(exc) == "bad-signature"


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_replays_outside_the_window_are_rejected(skew: int) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + skew)
    assert reason(exc) == "timestamp-out-of-tolerance"


def test_window_edges_and_custom_max_age() -> None:
    assert verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + 300) == "v1"
    assert verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW - 300) == "v1"
    with pytest.raises(SignatureError):
        verify(BODY, sign(BODY, SECRET, NOW), SECRET, now=NOW + 61, max_age=60)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "missing-signature"),
        ({TIMESTAMP_HEADER: str(NOW)}, "missing-signature"),
        ({SIGNATURE_HEADER: "v1=" + "0" * 64}, "missing-timestamp"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "v1=" + "0" * 64}, "malformed-timestamp"),
        ({TIMESTAMP_HEADER: "-5", SIGNATURE_HEADER: "v1=" + "0" * 64}, "malformed-timestamp"),
        ({TIMESTAMP_HEADER: "1e9", SIGNATURE_HEADER: "v1=" + "0" * 64}, "malformed-timestamp"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=zz"}, "malformed-signature"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v1=abcd"}, "malformed-signature"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "deadbeef"}, "malformed-signature"),
        ({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: "v0=" + "0" * 64}, "malformed-signature"),
        ({FRAPPE_HEADER: "not base64!"}, "malformed-signature"),
        ({FRAPPE_HEADER: base64.b64encode(b"short").decode()}, "malformed-signature"),
    ],
)
def test_missing_or_malformed_headers_are_rejected(
    headers: dict[str, str], expected: str
) -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY, headers, SECRET, now=NOW)
    assert reason(exc) == expected


def test_rotation_accepts_any_configured_secret() -> None:
    old, new = b"old-secret", b"new-secret"
    assert verify(BODY, sign(BODY, old, NOW), [new, old], now=NOW) == "v1"
    assert verify(BODY, sign(BODY, new, NOW), [new, old], now=NOW) == "v1"
    with pytest.raises(SignatureError):
        verify(BODY, sign(BODY, b"retired", NOW), [new, old], now=NOW)


def test_sender_may_list_signatures_for_old_and_new_secret() -> None:
    old = sign(BODY, b"old-secret", NOW)[SIGNATURE_HEADER]
    new = sign(BODY, b"new-secret", NOW)[SIGNATURE_HEADER]
    headers = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"{old}, {new}"}
    assert verify(BODY, headers, b"new-secret", now=NOW) == "v1"
    too_many = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: ",".join([new] * 9)}
    with pytest.raises(SignatureError) as exc:
        verify(BODY, too_many, b"new-secret", now=NOW)
    assert reason(exc) == "too-many-signatures"


def test_frappe_signature_is_base64_hmac_over_the_body() -> None:
    digest = hmac.new(SECRET, BODY, hashlib.sha256).digest()
    headers = {FRAPPE_HEADER: base64.b64encode(digest).decode()}
    assert sign_frappe(BODY, SECRET) == headers
    assert verify(BODY, headers, SECRET, now=NOW) == "frappe"
    # no timestamp in this format: the same request verifies any time later
    assert verify(BODY, headers, SECRET, now=NOW + 86_400) == "frappe"


def test_frappe_rejections_and_opt_out() -> None:
    with pytest.raises(SignatureError) as exc:
        verify(BODY + b"x", sign_frappe(BODY, SECRET), SECRET, now=NOW)
    assert reason(exc) == "bad-signature"
    with pytest.raises(SignatureError) as exc:
        verify(BODY, sign_frappe(BODY, SECRET), SECRET, now=NOW, accept_frappe=False)
    assert reason(exc) == "missing-signature"


def test_v1_wins_when_both_formats_are_present() -> None:
    headers = {**sign_frappe(BODY, SECRET), **sign(BODY, b"wrong", NOW)}
    with pytest.raises(SignatureError) as exc:
        verify(BODY, headers, SECRET, now=NOW)
    assert reason(exc) == "bad-signature"


def test_check_timestamp_for_timestamps_carried_in_the_body() -> None:
    check_timestamp(NOW - 299, now=NOW)
    with pytest.raises(SignatureError) as exc:
        check_timestamp(NOW - 301, now=NOW)
    assert reason(exc) == "timestamp-out-of-tolerance"


@pytest.mark.parametrize("secret", [b"", [], [b"ok", b""]])
def test_empty_secrets_are_a_configuration_error(secret: bytes | list[bytes]) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        verify(BODY, sign(BODY, SECRET, NOW), secret, now=NOW)


def test_signature_error_carries_its_reason() -> None:
    error = SignatureError("bad-signature")
    assert error.reason == "bad-signature"
    assert str(error) == "bad-signature"
