"""Liveness and readiness (public)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from caching import TieredCache
from gateway.erp.base import ErpConnector, ErpError
from gateway.observability.control import WorkerControl
from gateway.version import version
from policies.problems import Problem
from policies.ratelimit import RateLimiter

CHECK_TIMEOUT = 2.0


class Liveness(BaseModel):
    status: Literal["ok"]
    version: str


class Draining(Problem):
    status, slug, title = 503, "draining", "Draining"


class Check(BaseModel):
    status: Literal["up", "down", "degraded"]
    detail: str | None = None


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "draining"]
    checks: dict[str, Check]


class ReadinessProbe:
    """What /readyz reports: the ERP and Redis answering, components on a fallback path, and
    whether this replica is draining (then 503, so balancers stop sending it traffic)."""

    def __init__(self, erp: ErpConnector, redis: Any, cache: TieredCache,
                 limiter: RateLimiter, control: WorkerControl | None = None) -> None:
        self.erp = erp
        self.redis = redis
        self.cache = cache
        self.limiter = limiter
        self.control = control or WorkerControl()
        self._stopping = False

    @property
    def draining(self) -> bool:
        """SIGTERM received (the drain period), or the app is shutting down."""
        return self._stopping or self.control.draining

    @draining.setter
    def draining(self, value: bool) -> None:
        self._stopping = value

    async def _erp(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self.erp.health()
        except TimeoutError:
            return {"status": "down", "detail": f"no answer within {CHECK_TIMEOUT:g} s"}
        except ErpError as exc:
            return {"status": "down", "detail": str(exc)}
        return {"status": "up"}

    async def _redis(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                await self.redis.ping()
        except Exception as exc:  # any client failure is a 'down' answer, never a 500
            return {"status": "down", "detail": type(exc).__name__}
        return {"status": "up"}

    def degraded(self) -> dict[str, str]:
        """Components running on a fallback path right now."""
        out = {}
        if self.cache.degraded:
            out["cache"] = "L2 (Redis) unavailable: serving from this replica's L1"
        if self.limiter.degraded:
            out["ratelimit"] = "Redis unavailable: each replica enforces its share of the limits"
        return out

    async def checks(self) -> dict[str, Any]:
        checks: dict[str, Any] = {"erp": await self._erp()}
        if self.redis is not None:
            checks["redis"] = await self._redis()
        for name, detail in self.degraded().items():
            checks[name] = {"status": "degraded", "detail": detail}
        return checks


async def healthz() -> Response:
    return JSONResponse({"status": "ok", "version": version()})


async def readyz(readiness: ReadinessProbe) -> Response:
    """200 while this replica can answer, with ``degraded`` when a dependency is down.

    A shared dependency (ERP, Redis) being down makes every replica 'degraded',
    not unready: failing readiness would pull all replicas out of the balancer
    at once and throw away the cached answers they can still serve.
    """
    if readiness.draining:
        # before any check: a draining replica must say so at once, whatever is down
        raise Draining("this replica is shutting down: send new requests elsewhere",
                       headers={"Retry-After": "1"},
                       extensions={"state": "draining", "worker": readiness.control.pid})
    checks = await readiness.checks()
    degraded = any(c["status"] != "up" for c in checks.values())
    return JSONResponse({"status": "degraded" if degraded else "ready", "checks": checks})
