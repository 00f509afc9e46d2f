"""Exception handlers: everything that leaves the app is RFC 9457 problem+json."""

from __future__ import annotations

import logging

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
from carriers.service import LabelNotFound
from gateway.erp.base import (
    ErpBadResponse,
    ErpError,
    ErpTimeout,
    ErpUnavailable,
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

log = logging.getLogger("gateway.errors")


def erp_problem(exc: ErpError) -> Problem:
    match exc:
        case UnknownCustomer():
            return NotFound(str(exc))
        case ErpTimeout():
            return GatewayTimeout(f"the ERP did not answer in time: {exc}",
                                  retry_after=exc.retry_after)
        case ErpUnavailable():
            return ServiceUnavailable(f"the ERP is unavailable: {exc}",
                                      retry_after=exc.retry_after)
        case ErpBadResponse():
            return BadGateway(f"the ERP answered with something unusable: {exc}")
        case _:
            return BadGateway(f"ERP error: {exc}")


def carrier_problem(exc: CarrierError) -> Problem:
    messages = {"messages": [m.model_dump(mode="json") for m in exc.messages]}
    match exc:
        case CarrierUnavailable():
            return ServiceUnavailable(
                f"carrier {exc.carrier} is unavailable: {exc}; labels never fall back to "
                "table rates, retry with the same Idempotency-Key",
                retry_after=exc.retry_after, extensions=messages)
        case CarrierRejected() | CapabilityMissing():
            return Unprocessable(f"carrier {exc.carrier} refused the request: {exc}",
                                 extensions=messages)
        case _:
            return BadGateway(f"carrier {exc.carrier} failed: {exc}", extensions=messages)


def idempotency_problem(exc: IdempotencyError) -> Problem:
    match exc:
        case IdempotencyMismatch():
            return Unprocessable(
                "this Idempotency-Key was already used with a different request body; "
                "use a new key for a different label")
        case IdempotencyInProgress():
            return Conflict("a request with this Idempotency-Key is still being processed; "
                            "retry shortly", headers={"Retry-After": str(exc.retry_after)})
        case IdempotencyUnresolved():
            return Conflict(str(exc), extensions={"label_id": exc.label_id})
        case _:
            return Conflict(str(exc))


def _respond(request: Request, problem: Problem) -> Response:
    response = problem.response(request.url.path)
    rid = request.scope.get("state", {}).get("request_id")
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


async def on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _respond(request, exc)


async def on_erp_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ErpError)
    return _respond(request, erp_problem(exc))


async def on_carrier_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CarrierError)
    return _respond(request, carrier_problem(exc))


async def on_idempotency_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotencyError)
    return _respond(request, idempotency_problem(exc))


async def on_lookup_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LabelNotFound | UnknownCarrierAccount):
        return _respond(request, NotFound(str(exc).strip("'\"")))
    return await on_unhandled(request, exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        problem: Problem = NotFound(f"no route matches {request.method} {request.url.path}")
    elif exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow", "")
        problem = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}"
                                   + (f"; allowed: {allow}" if allow else ""),
                                   headers={"Allow": allow} if allow else None)
    else:
        problem = Problem(str(exc.detail))
        problem.status = exc.status_code  # type: ignore[misc]
    return _respond(request, problem)


async def on_unhandled(request: Request, exc: Exception) -> Response:
    # the traceback goes to the log with the request id, never to the client
    log.error("unhandled error on %s %s (request %s)", request.method, request.url.path,
              request.scope.get("state", {}).get("request_id"), exc_info=exc)
    return _respond(request, Problem("the gateway failed to handle this request; "
                                     "quote the X-Request-ID when reporting it"))


EXCEPTION_HANDLERS = {
    Problem: on_problem,
    ErpError: on_erp_error,
    CarrierError: on_carrier_error,
    IdempotencyError: on_idempotency_error,
    LookupError: on_lookup_error,
    HTTPException: on_http_exception,
    Exception: on_unhandled,
}
