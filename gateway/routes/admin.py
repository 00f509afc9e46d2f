"""Operator endpoints (scope ``admin``): breakers, metrics, configuration, clients, reload.

Breakers are per worker process (each worker keeps its own, like each replica): answers
about them say which worker answered (``worker``: its pid) so that an operator running
several workers can tell them apart; forcing one open acts on the worker that answered.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from carriers.registry import UnknownCarrierAccount
from carriers.service import ShippingService
from gateway.metrics import CONTENT_TYPE
from gateway.observability.ops import Operations
from gateway.observability.reload import Reloader
from policies.problems import NotFound, Unprocessable

REDACTED = "***"
# keys whose values are credentials wherever they appear in the configuration
_SECRET_KEY = re.compile(r"secret|password|passwd|token|pem|hash|credential|api_?key|private",
                         re.IGNORECASE)
_URL_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^@/]*@", re.IGNORECASE)


class CarrierStatus(BaseModel):
    worker: int
    accounts: list[dict[str, Any]]


class AccountPath(BaseModel):
    account: str


class BreakerAnswer(BaseModel):
    worker: int
    account: dict[str, Any]


class ConfigAnswer(BaseModel):
    source: str
    worker: int
    config: dict[str, Any]


class ClientSummary(BaseModel):
    id: str
    scopes: list[str]
    plan: str
    versions: list[str]
    api_keys: int
    client_secret: bool


class ClientList(BaseModel):
    demo: bool
    clients: list[ClientSummary]


class ReloadAnswer(BaseModel):
    outcome: str
    source: str
    applied: list[str]
    restart_required: list[str]
    errors: list[dict[str, str]]
    worker: int


async def carriers(shipping: ShippingService, ops: Operations) -> Response:
    return JSONResponse({"worker": ops.control.pid, "accounts": shipping.breaker_states()})


def _breaker_action(path: AccountPath, shipping: ShippingService, ops: Operations,
                    action: str) -> Response:
    try:
        account = shipping.registry.get(path.account)
    except UnknownCarrierAccount:
        raise NotFound(f"no carrier account {path.account!r} is configured") from None
    if action == "open":
        account.breaker.force_open()
    else:
        account.breaker.reset()
    snapshot = account.breaker.snapshot().model_dump(mode="json")
    return JSONResponse({"worker": ops.control.pid, "account": snapshot})


async def open_breaker(path: AccountPath, shipping: ShippingService, ops: Operations
                       ) -> Response:
    """Hold the account's breaker open on this worker until it is reset."""
    return _breaker_action(path, shipping, ops, "open")


async def reset_breaker(path: AccountPath, shipping: ShippingService, ops: Operations
                        ) -> Response:
    """Close the account's breaker on this worker and forget its window."""
    return _breaker_action(path, shipping, ops, "reset")


async def metrics(ops: Operations) -> Response:
    return Response(ops.exposition(), media_type=CONTENT_TYPE)


def redact(value: Any, key: str = "") -> Any:
    """The configuration tree with credentials replaced (by key name and URL user info)."""
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if value is not None and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", value)
    return value


async def config(reloader: Reloader, ops: Operations) -> Response:
    """The running configuration, credentials redacted."""
    doc = redact(reloader.settings.model_dump(mode="json"))
    source = str(reloader.path) if reloader.path is not None else "embedded demo"
    return JSONResponse({"source": source, "worker": ops.control.pid, "config": doc})


async def clients(reloader: Reloader) -> Response:
    """The configured clients: ids, scopes, plans, versions; how many keys, never the keys."""
    auth = reloader.settings.auth
    listed = auth.clients if auth is not None else []
    return JSONResponse({"demo": auth is None, "clients": [
        {"id": c.id, "scopes": list(c.scopes), "plan": c.plan, "versions": list(c.versions),
         "api_keys": len(c.api_key_hashes), "client_secret": c.secret_hash is not None}
        for c in listed]})


async def reload(reloader: Reloader, ops: Operations) -> Response:
    """Re-read the configuration file in this worker; the other workers are told to as well."""
    result = await reloader.reload("admin")
    if result.outcome == "refused":
        errors = result.errors
        raise Unprocessable(
            f"configuration refused, still serving the previous one: {errors[0]['field']}: "
            f"{errors[0]['message']}" + (f" (and {len(errors) - 1} more)" if errors[1:] else ""),
            extensions={"config_errors": errors, "source": result.source})
    ops.control.notify_siblings()
    return JSONResponse({**result.as_json(), "worker": ops.control.pid})
