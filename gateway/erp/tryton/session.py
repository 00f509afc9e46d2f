"""One logged-in JSON-RPC session with trytond over one pooled httpx client.

``common.db.login`` returns ``[user_id, token, …]``; later calls send
``Authorization: Session base64(login:user_id:token)``. trytond answers HTTP 401 when
that session is unknown or expired (``app.auth_required`` in its wsgi module); the
session then logs in again once and repeats the call.

A refused login is not retried by every caller: the failure is kept and raised again
for a pause that starts at ``login_backoff`` and doubles per consecutive failure up to
``login_backoff_max``, each pause drawn between half and all of that bound (jitter, so
replicas do not retry in step). trytond counts failed logins per user and locks the
user out for minutes after a few, so hammering it every few seconds keeps it locked.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from gateway.context import outbound_headers
from gateway.erp.base import ErpBadResponse, ErpError, ErpTimeout, ErpUnavailable
from gateway.erp.tryton import wire
from gateway.erp.tryton.config import TrytonConfig

log = logging.getLogger("gateway.erp.tryton")
T = TypeVar("T")


class _SessionRejected(Exception):
    """HTTP 401 on an authenticated call: the session is unknown or expired."""


@dataclass(frozen=True, slots=True)
class _Session:
    authorization: str
    # user preferences (company, companies, language …) sent as context on every call
    context: dict[str, Any]


class LoginBackoff:
    """Exponential pause with jitter after consecutive failed logins."""

    def __init__(self, base: float, ceiling: float, *, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._base = base
        self._ceiling = max(ceiling, base)
        self._rng = rng or random.Random()
        self._clock = clock
        self.failures = 0
        self._until = 0.0
        self._error: ErpError | None = None

    def blocked(self) -> ErpError | None:
        """The last failure while its pause lasts, else None."""
        if self._error is not None and self._clock() < self._until:
            return self._error
        return None

    def failed(self, error: ErpError) -> float:
        """Record a failure; returns the pause chosen before the next attempt."""
        self.failures += 1
        bound = min(self._ceiling, self._base * 2 ** (self.failures - 1))
        pause = self._rng.uniform(bound / 2, bound)
        self._until = self._clock() + pause
        self._error = error
        return pause

    def succeeded(self) -> None:
        self.failures = 0
        self._error = None
        self._until = 0.0


class TrytonSession:
    """Authenticated calls to one trytond database; logs in lazily and once at a time."""

    def __init__(self, config: TrytonConfig, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 backoff: LoginBackoff | None = None) -> None:
        self.config = config
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=config.connect_timeout,
                read=config.read_timeout,
                write=config.read_timeout,
                # waiting for a free connection is bounded by the per-call deadline
                pool=config.total_timeout,
            ),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            # settings are the only source of configuration: no proxies from the environment
            trust_env=False,
            proxy=config.proxy,
        )
        self._ids = itertools.count(1)
        self._state: _Session | None = None
        self._lock = asyncio.Lock()
        self.backoff = backoff or LoginBackoff(config.login_backoff, config.login_backoff_max)

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled HTTP client every call of this session goes through."""
        return self._client

    async def context(self) -> dict[str, Any]:
        """The user's preferences (company, companies, language …), logging in if needed."""
        return dict((await self._session()).context)

    async def login(self) -> dict[str, Any]:
        """Log in now (ignoring a cached session) and return the user's context."""
        async with self._lock:
            self._state = None
            return dict((await self._login()).context)

    async def search_read(
        self,
        model: str,
        domain: list[Any],
        fields: list[str],
        context: Mapping[str, Any] | None = None,
        *,
        order: list[tuple[str, str]] | None = None,
        limit: int | None = None,
    ) -> Any:
        return await self.call(
            f"model.{model}.search_read", [domain, 0, limit, order, fields], context
        )

    async def call(
        self, method: str, params: list[Any], context: Mapping[str, Any] | None = None
    ) -> Any:
        """Call an authenticated method; log in again once if the session was rejected."""
        session = await self._session()
        try:
            return await self._post(method, [*params, {**session.context, **(context or {})}],
                                    session.authorization)
        except _SessionRejected:
            session = await self._relogin(session)
        try:
            return await self._post(method, [*params, {**session.context, **(context or {})}],
                                    session.authorization)
        except _SessionRejected:
            raise ErpUnavailable(f"Tryton rejected a fresh session for {method}") from None

    async def bounded(self, call: Awaitable[T], what: str) -> T:
        """Run one public operation, login and retries included, within ``total_timeout``."""
        try:
            async with asyncio.timeout(self.config.total_timeout):
                return await call
        except TimeoutError:
            raise ErpTimeout(
                f"Tryton {what} took longer than {self.config.total_timeout} s"
            ) from None

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _session(self) -> _Session:
        session = self._state
        if session is not None:
            return session
        async with self._lock:
            if self._state is not None:
                return self._state
            return await self._login()

    async def _relogin(self, stale: _Session) -> _Session:
        async with self._lock:
            if self._state is not None and self._state is not stale:
                return self._state  # another caller already logged in again
            log.info("tryton session rejected; logging in again")
            self._state = None
            return await self._login()

    async def _login(self) -> _Session:
        """Log in and read the user's context; the caller holds the lock."""
        blocked = self.backoff.blocked()
        if blocked is not None:
            raise type(blocked)(*blocked.args)
        try:
            session = await self._open()
        except ErpError as exc:
            pause = self.backoff.failed(exc)
            log.error("tryton login of %r on %r failed (%d in a row; next attempt in %.0f s): "
                      "%s", self.config.username, self.config.database,
                      self.backoff.failures, pause, exc)
            raise
        if self.backoff.failures:
            log.info("tryton login of %r succeeded after %d failures", self.config.username,
                     self.backoff.failures)
        self.backoff.succeeded()
        self._state = session
        return session

    async def _open(self) -> _Session:
        cfg = self.config
        try:
            result = await self._post(
                "common.db.login",
                [cfg.username, {"password": cfg.password.get_secret_value()}],
                authorization=None,
            )
        except ErpBadResponse as exc:
            raise ErpUnavailable(f"Tryton refused the login of {cfg.username!r}: {exc}") from None
        if (
            not isinstance(result, list) or len(result) < 2
            or not isinstance(result[0], int) or not isinstance(result[1], str)
        ):
            wire.bad("common.db.login did not return [user_id, session]")
        token = f"{cfg.username}:{result[0]}:{result[1]}".encode()
        authorization = "Session " + base64.b64encode(token).decode("ascii")
        try:
            preferences = await self._post(
                "model.res.user.get_preferences", [True, {}], authorization
            )
        except _SessionRejected:
            raise ErpUnavailable("Tryton rejected a session it had just opened") from None
        if not isinstance(preferences, dict):
            wire.bad("model.res.user.get_preferences did not return an object")
        context = {
            key: value for key, value in preferences.items()
            if key != "locale" and "." not in key
        }
        return _Session(authorization, context)

    async def _post(self, method: str, params: list[Any], authorization: str | None) -> Any:
        headers = {"Content-Type": "application/json", **outbound_headers()}
        if authorization is not None:
            headers["Authorization"] = authorization
        body = wire.encode_request(next(self._ids), method, params)
        log.debug("tryton rpc %s", method)
        try:
            response = await self._client.post(self.config.rpc_url, content=body,
                                               headers=headers)
        except httpx.TimeoutException as exc:
            raise ErpTimeout(
                f"Tryton did not answer {method} in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise ErpUnavailable(
                f"cannot reach Tryton at {self.config.url}: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code == 401 and authorization is not None:
            raise _SessionRejected()
        if response.status_code != 200:
            raise wire.status_error(response, method, self.config)
        return wire.decode_response(response.content, method)
