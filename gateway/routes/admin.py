"""Operator endpoints (scope ``admin``): carrier breakers, metrics, cache purge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from gateway.metrics import render
from gateway.services import services


class CarrierStatus(BaseModel):
    accounts: list[dict[str, Any]]


async def carriers(request: Request) -> Response:
    return JSONResponse({"accounts": services(request).shipping.breaker_states()})


async def metrics(request: Request) -> Response:
    svc = services(request)
    return PlainTextResponse(render(svc.metrics, svc.metric_sources()),
                             media_type="text/plain; version=0.0.4")
