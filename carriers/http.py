"""Transport helpers shared by the HTTP adapters: error mapping and OAuth tokens.

Adapters build payloads with pure functions and hand them to ``send``; this
module is the only place that turns httpx failures into carrier errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from carriers.base import CarrierRejected, CarrierTimeout, CarrierUnavailable
from carriers.models import CarrierMessage

# parses a non-2xx carrier body into messages; adapters supply one per vendor format
ErrorParser = Callable[[str, httpx.Response], list[CarrierMessage]]

# a carrier that does not accept a connection within this long is down, whatever the budget
_CONNECT_SECONDS = 5.0

# headers every carrier call carries, made per call (the gateway adds the trace context)
OUTBOUND_HEADER_HOOKS: list[Callable[[], Mapping[str, str]]] = []


async def _outbound_headers(request: httpx.Request) -> None:
    for hook in OUTBOUND_HEADER_HOOKS:
        request.headers.update(hook())


def carrier_client(base_url: str, timeout_seconds: float, *, auth: httpx.Auth | None = None,
                   headers: Mapping[str, str] | None = None,
                   proxy: str | None = None) -> httpx.AsyncClient:
    """One account's pooled client: JSON accepted, the account's time budget per call.

    Proxies come from the account's options only (``proxy``), never from the environment.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        trust_env=False,
        proxy=proxy,
        auth=auth,
        timeout=httpx.Timeout(timeout_seconds,
                              connect=min(timeout_seconds, _CONNECT_SECONDS)),
        headers={"Accept": "application/json", **(headers or {})},
        event_hooks={"request": [_outbound_headers]},
    )


def generic_messages(carrier: str, response: httpx.Response) -> list[CarrierMessage]:
    return [CarrierMessage(carrier=carrier, code=f"http_{response.status_code}",
                           message=response.text[:500] or response.reason_phrase)]


async def send(
    client: httpx.AsyncClient,
    carrier: str,
    request: httpx.Request,
    parse_errors: ErrorParser = generic_messages,
) -> httpx.Response:
    """Send and map failures: timeouts → CarrierTimeout, 5xx/429/transport → CarrierUnavailable,
    other 4xx → CarrierRejected. Returns 2xx responses untouched."""
    try:
        response = await client.send(request)
    except httpx.TimeoutException as exc:
        raise CarrierTimeout(carrier, [CarrierMessage(
            carrier=carrier, code="timeout", message=f"{carrier} did not answer in time")]) from exc
    except httpx.TransportError as exc:
        raise CarrierUnavailable(carrier, [CarrierMessage(
            carrier=carrier, code="unreachable",
            message=f"{carrier} unreachable: {type(exc).__name__}")]) from exc
    if response.is_success:
        return response
    messages = parse_errors(carrier, response) or generic_messages(carrier, response)
    if response.status_code >= 500 or response.status_code == 429:
        error = CarrierUnavailable(carrier, messages, status_code=response.status_code)
        retry = response.headers.get("Retry-After", "")
        if retry.isdigit():
            error.retry_after = int(retry)
        raise error
    raise CarrierRejected(carrier, messages, status_code=response.status_code)


class OAuthToken:
    """Client-credentials token for one carrier account, cached and refreshed before expiry.

    ``fetch`` performs the vendor-specific token request and returns
    ``(access_token, expires_in_seconds)``. Concurrent callers share one refresh.
    """

    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], *,
                 refresh_margin: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._margin = refresh_margin
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token and self._clock() < self._expires_at - self._margin:
            return self._token
        async with self._lock:
            if self._token and self._clock() < self._expires_at - self._margin:
                return self._token
            token, expires_in = await self._fetch()
            self._token, self._expires_at = token, self._clock() + float(expires_in)
            return token

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token (after a 401), unless another caller already replaced it."""
        if token is None or token == self._token:
            self._token = None


async def send_authorized(
    client: httpx.AsyncClient,
    carrier: str,
    token: OAuthToken,
    build: Callable[[str], httpx.Request],
    parse_errors: ErrorParser = generic_messages,
) -> httpx.Response:
    """Send with a bearer token; on a 401 refresh the token once and retry once."""
    current = await token.get()
    try:
        return await send(client, carrier, build(current), parse_errors)
    except CarrierRejected as exc:
        if not _was_unauthorized(exc):
            raise
    token.invalidate(current)
    return await send(client, carrier, build(await token.get()), parse_errors)


def _was_unauthorized(exc: CarrierRejected) -> bool:
    return exc.status_code == 401


def bearer(token: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    headers.update(extra or {})
    return headers


@contextmanager
def unreadable_reply(carrier: str, *errors: type[Exception]) -> Iterator[None]:
    """A 2xx reply that ``errors`` say cannot be read is the carrier misbehaving, not the
    caller's fault: it becomes ``CarrierUnavailable`` (code ``unexpected_reply``)."""
    try:
        yield
    except errors as exc:
        raise CarrierUnavailable(carrier, [CarrierMessage(
            carrier=carrier, code="unexpected_reply",
            message=f"{carrier} answered in an unexpected shape: {type(exc).__name__}: {exc}")]
        ) from exc


def json_reply(carrier: str, response: httpx.Response) -> Any:
    """A 2xx body as JSON; one that is not JSON is the carrier misbehaving (unavailable)."""
    try:
        return response.json()
    except ValueError as exc:
        raise CarrierUnavailable(carrier, [CarrierMessage(
            carrier=carrier, code="invalid_reply",
            message=f"{carrier} answered {response.status_code} with a body that is not JSON")],
            status_code=response.status_code) from exc


def utcnow() -> datetime:
    """The default clock adapters date labels and events with."""
    return datetime.now(UTC)
