"""Liveness and readiness (public)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.erp.base import ErpError
from gateway.services import services

CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _check_erp(request: Request) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await services(request).erp.health()
    except TimeoutError:
        return {"status": "down", "detail": f"no answer within {CHECK_TIMEOUT:g} s"}
    except ErpError as exc:
        return {"status": "down", "detail": str(exc)}
    return {"status": "up"}


async def _check_redis(request: Request) -> dict[str, Any] | None:
    client = services(request).redis
    if client is None:
        return None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await client.ping()
    except Exception as exc:  # any client failure is a 'down' answer, never a 500
        return {"status": "down", "detail": type(exc).__name__}
    return {"status": "up"}


async def readyz(request: Request) -> Response:
    """200 while this replica can answer, with ``degraded`` when a dependency is down.

    A shared dependency (ERP, Redis) being down makes every replica 'degraded',
    not unready: failing readiness would pull all replicas out of the balancer
    at once and throw away the cached answers they can still serve.
    """
    svc = services(request)
    checks: dict[str, Any] = {"erp": await _check_erp(request)}
    redis_check = await _check_redis(request)
    if redis_check is not None:
        checks["redis"] = redis_check
    for name, detail in svc.degraded().items():
        checks[name] = {"status": "degraded", "detail": detail}
    if svc.draining:
        return JSONResponse({"status": "draining", "checks": checks}, status_code=503)
    degraded = any(c["status"] != "up" for c in checks.values())
    return JSONResponse({"status": "degraded" if degraded else "ready", "checks": checks})
