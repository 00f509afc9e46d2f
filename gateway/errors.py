"""The one error map: every exception that leaves a handler becomes one RFC 9457 problem.

Domain exceptions by package, and the problem each one is (mapped here, once; handlers
never catch and re-wrap)::

    policies.problems.Problem            its own status (it is already a problem)
    gateway.erp.base.ErpError            502 upstream-bad-response
    ├── UnknownCustomer                  404 not-found
    ├── OrderNotFound                    404 not-found (or not the caller's order)
    ├── OrderRefused                     409 conflict (the ERP's words)
    ├── ErpUnavailable                   503 upstream-unavailable (+ Retry-After)
    ├── ErpTimeout                       504 upstream-timeout (+ Retry-After)
    └── ErpBadResponse                   502 upstream-bad-response
    carriers.base.CarrierError           502 upstream-bad-response (+ messages)
    ├── CarrierRejected                  422 unprocessable (the carrier's messages)
    ├── CarrierUnavailable               503 upstream-unavailable (+ Retry-After)
    │   └── CarrierTimeout               503
    └── CapabilityMissing                422 unprocessable
    carriers.registry.UnknownCarrierAccount        422 unprocessable (named in the body)
    carriers.service.TrackingCarrierNotFound       404 not-found (named in the path)
    carriers.service.LabelNotFound                 404 not-found
    carriers.idempotency.IdempotencyError          409 conflict
    ├── IdempotencyMismatch              422 unprocessable (same key, another body)
    ├── IdempotencyInProgress            409 conflict (+ Retry-After)
    └── IdempotencyUnresolved            409 conflict (+ label_id)
    redis.exceptions.RedisError          503 upstream-unavailable (+ Retry-After): the
                                         label records' Redis is unreachable
    starlette HTTPException              its status (404 and 405 from routing)
    anything else                        500 internal-error, logged with the request id

``problem_for`` walks an exception's MRO to the nearest entry, so a subclass added to
a package maps to its parent's problem until it gets a row of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from carriers.base import CapabilityMissing, CarrierError, CarrierRejected, CarrierUnavailable
from carriers.idempotency import (
    IdempotencyError,
    IdempotencyInProgress,
    IdempotencyMismatch,
    IdempotencyUnresolved,
)
from carriers.registry import UnknownCarrierAccount
from carriers.service import LabelNotFound, TrackingCarrierNotFound
from gateway.erp.base import (
    ErpBadResponse,
    ErpError,
    ErpTimeout,
    ErpUnavailable,
    OrderNotFound,
    OrderRefused,
    UnknownCustomer,
)
from policies.problems import (
    BadGateway,
    Conflict,
    GatewayTimeout,
    MethodNotAllowed,
    NotFound,
    Problem,
    ServiceUnavailable,
    Unprocessable,
)

__all__ = ["EXCEPTION_HANDLERS", "problem_for"]

log = logging.getLogger("gateway.errors")


def _message(exc: BaseException) -> str:
    # args[0], not str(): a KeyError's str() wraps its message in quotes
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _messages(exc: CarrierError) -> dict[str, Any]:
    return {"messages": [m.model_dump(mode="json") for m in exc.messages]}


def _carrier_unavailable(exc: CarrierUnavailable) -> Problem:
    return ServiceUnavailable(
        f"carrier {exc.carrier} is unavailable: {exc}; labels never fall back to table rates, "
        "retry with the same Idempotency-Key", retry_after=exc.retry_after,
        extensions=_messages(exc))


def _carrier_refused(exc: CarrierRejected | CapabilityMissing) -> Problem:
    return Unprocessable(f"carrier {exc.carrier} refused the request: {exc}",
                         extensions=_messages(exc))


# exception type → the problem it is; read by problem_for along the exception's MRO
PROBLEMS: dict[type[BaseException], Callable[[Any], Problem]] = {
    UnknownCustomer: lambda exc: NotFound(_message(exc)),
    OrderNotFound: lambda exc: NotFound(_message(exc)),
    OrderRefused: lambda exc: Conflict(f"the ERP refused: {exc}"),
    ErpTimeout: lambda exc: GatewayTimeout(f"the ERP did not answer in time: {exc}",
                                           retry_after=exc.retry_after),
    ErpUnavailable: lambda exc: ServiceUnavailable(f"the ERP is unavailable: {exc}",
                                                   retry_after=exc.retry_after),
    ErpBadResponse: lambda exc: BadGateway(f"the ERP answered with something unusable: {exc}"),
    ErpError: lambda exc: BadGateway(f"ERP error: {exc}"),
    CarrierUnavailable: _carrier_unavailable,
    CarrierRejected: _carrier_refused,
    CapabilityMissing: _carrier_refused,
    CarrierError: lambda exc: BadGateway(f"carrier {exc.carrier} failed: {exc}",
                                         extensions=_messages(exc)),
    UnknownCarrierAccount: lambda exc: Unprocessable(_message(exc)),
    TrackingCarrierNotFound: lambda exc: NotFound(_message(exc)),
    LabelNotFound: lambda exc: NotFound(_message(exc)),
    IdempotencyMismatch: lambda exc: Unprocessable(
        "this Idempotency-Key was already used with a different request body; use a new key "
        "for a different request"),
    IdempotencyInProgress: lambda exc: Conflict(
        "a request with this Idempotency-Key is still being processed; retry shortly",
        headers={"Retry-After": str(exc.retry_after)}),
    IdempotencyUnresolved: lambda exc: Conflict(_message(exc),
                                                extensions={"label_id": exc.label_id}),
    IdempotencyError: lambda exc: Conflict(_message(exc)),
    # only the label records need Redis to answer (cache and limits degrade instead)
    RedisError: lambda exc: ServiceUnavailable(
        "the shared label records (Redis) are unavailable; retry with the same "
        "Idempotency-Key", retry_after=2),
}


def problem_for(exc: BaseException) -> Problem | None:
    """The problem an exception is, or None when it is not a known domain error (a bug)."""
    if isinstance(exc, Problem):
        return exc
    for cls in type(exc).__mro__:
        make = PROBLEMS.get(cls)
        if make is not None:
            return make(exc)
    return None


def _respond(request: Request, problem: Problem) -> Response:
    response = problem.response(request.url.path)
    rid = request.scope.get("state", {}).get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


def _routing_problem(request: Request, exc: HTTPException) -> Problem:
    if exc.status_code == 404:
        return NotFound(f"no route matches {request.method} {request.url.path}")
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        return MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"
                                + (f"; allowed: {allow}" if allow else ""),
                                headers={"Allow": allow} if allow else None)
    problem = Problem(str(exc.detail))
    problem.status = exc.status_code  # type: ignore[misc]
    return problem


async def _on_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        return _respond(request, _routing_problem(request, exc))
    problem = problem_for(exc)
    if problem is None:
        return await _on_unhandled(request, exc)
    return _respond(request, problem)


async def _on_unhandled(request: Request, exc: Exception) -> Response:
    # the traceback goes to the log with the request id, never to the client
    log.error("unhandled error on %s %s (request %s)", request.method, request.url.path,
              request.scope.get("state", {}).get("request_id"), exc_info=exc)
    return _respond(request, Problem("the gateway failed to handle this request; quote the "
                                     "X-Request-ID when reporting it"))


# one entry per mapped family goes to Starlette's ExceptionMiddleware (inside the policy
# chain, answered there); Exception goes to ServerErrorMiddleware, which answers and then
# re-raises so the server logs it too
EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {
    **{cls: _on_exception for cls in (Problem, HTTPException, *PROBLEMS)},
    Exception: _on_unhandled,
}
