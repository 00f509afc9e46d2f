"""Operator handlers (scope ``admin``): carrier breakers, metrics."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.responses import JSONResponse, PlainTextResponse, Response

from carriers.service import ShippingService
from gateway.metrics import MetricsExport, render


class CarrierStatus(BaseModel):
    accounts: list[dict[str, Any]]


async def carriers(shipping: ShippingService) -> Response:
    return JSONResponse({"accounts": shipping.breaker_states()})


async def metrics(metrics: MetricsExport) -> Response:
    return PlainTextResponse(render(metrics.requests, metrics.sources()),
                             media_type="text/plain; version=0.0.4")
