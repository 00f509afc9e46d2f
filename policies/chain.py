"""Policies as gates, run by one ASGI layer.

A *gate* is one policy's decision on one request: an async callable that reads the ASGI
scope (and the per-request ``state`` dict gates share, e.g. the principal auth leaves for
the rate limit) and either admits the request, returning the response headers it wants
added, or refuses it by raising a ``Problem``::

    async def gate(scope: Scope, state: dict[str, Any]) -> Headers: ...

``PolicyChain`` runs its gates in order, then the app, with a single ``send`` wrapper that
appends every admitted gate's headers to whatever answers: the app, an exception handler,
or a later gate's refusal (a 429 carries the deprecation headers the versioning gate added).
Stacking one middleware per policy costs a coroutine frame and a ``send`` closure per layer
on every request; on a cached read that stack was the largest part of the gateway's cost,
so the gateway runs all its policies through one chain. Each policy's standalone
middleware (``AuthMiddleware``, ``VersioningMiddleware``, ``RateLimitMiddleware``) is the
same chain with just its own gate.

The chain can also own correlation ids (``request_ids=True``): accept a well-formed
``X-Request-ID`` or make one, leave it in ``state["request_id"]`` and ``request_id_var``,
and echo it on every response it sees. ``observe(scope, status, seconds)`` is called once
per HTTP request after the response, for metrics and access logs; by then ``state`` also
holds ``response_headers`` (as sent), ``response_bytes`` (body bytes sent) and, for a
request a gate refused, ``refused``: ``(gate name, Problem)``. A gate's name is its
``name`` attribute (``auth``, ``version``, ``ratelimit``), else its class name.

Given ``resolve``, the chain first finds which operation a request is for and leaves its
``RoutePolicy`` (operation id, public or not, required scope, rate-limit group) in
``state["route"]``, so every gate and the router read one answer: the operation table
says what is public and how a route is limited, not lists of path prefixes.

Websocket scopes run the gates too (no headers, no ids); a refusal closes the socket with
1008 before it is accepted. Other scopes (lifespan) pass straight through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.problems import Problem
from policies.request_id import HEADER_KEY, assign_request_id, request_id_var

__all__ = ["ROUTE_STATE_KEY", "Gate", "Headers", "Observer", "PolicyChain", "Resolver",
           "RoutePolicy"]

Headers = tuple[tuple[bytes, bytes], ...]
Observer = Callable[[Scope, int, float], None]


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What the policies need to know of the operation a request resolved to."""

    operation_id: str
    # no credentials needed (health, contracts, token endpoint, HMAC-signed webhooks)
    public: bool
    # auth scope the caller must hold; None on public operations
    scope: str | None
    # rate-limit route group the operation counts against
    group: str


# the operation a request is for, or None when no operation has its path
Resolver = Callable[[Scope], RoutePolicy | None]
ROUTE_STATE_KEY = "route"

# RFC 6455 close code for "policy violation": how a websocket is refused before accept
_WS_POLICY_VIOLATION = 1008


class Gate(Protocol):
    def __call__(self, scope: Scope, state: dict[str, Any]) -> Awaitable[Headers]: ...


class PolicyChain:
    def __init__(self, app: ASGIApp, gates: Sequence[Gate] = (), *, request_ids: bool = False,
                 observe: Observer | None = None, resolve: Resolver | None = None) -> None:
        self.app = app
        self.gates = tuple(gates)
        self.request_ids = request_ids
        self.observe = observe
        self.resolve = resolve

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self.gates:
                await self._websocket(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        started = perf_counter()
        state: dict[str, Any] | None = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        if self.resolve is not None:
            state[ROUTE_STATE_KEY] = self.resolve(scope)
        token = None
        added: list[tuple[bytes, bytes]] = []
        if self.request_ids:
            rid = assign_request_id(scope)
            state["request_id"] = rid
            token = request_id_var.set(rid)
            added.append((HEADER_KEY, rid.encode("ascii")))
        status = 500
        sent = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                if added:
                    if token is not None and status >= 400:
                        # problem handlers set X-Request-ID themselves (the 500 handler runs
                        # outside this chain): replace theirs rather than send two
                        headers = [h for h in headers if h[0] != HEADER_KEY]
                    headers = message["headers"] = [*headers, *added]
                state["response_headers"] = headers
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        gate: Gate | None = None
        try:
            try:
                for gate in self.gates:
                    headers = await gate(scope, state)
                    if headers:
                        added.extend(headers)
            except Problem as refusal:
                state["refused"] = (getattr(gate, "name", type(gate).__name__), refusal)
                await refusal(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        finally:
            if token is not None:
                request_id_var.reset(token)
            if self.observe is not None:
                state["response_bytes"] = sent
                self.observe(scope, status, perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: dict[str, Any] = scope.setdefault("state", {})
        try:
            for gate in self.gates:
                await gate(scope, state)
        except Problem:
            await send({"type": "websocket.close", "code": _WS_POLICY_VIOLATION})
            return
        await self.app(scope, receive, send)
