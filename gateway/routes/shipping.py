"""Shipping handlers: rate-shop, buy (idempotent), reprint, void, track."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field
from starlette.responses import Response

from carriers.models import Label, LabelRequest, RateRequest, Tracking, VoidResult
from carriers.service import RateShopResult, ShippingService
from gateway.schemas.headers import IdempotencyHeaders
from gateway.tenancy import tenant_of
from policies.auth import Principal
from policies.problems import Conflict


class LabelPath(BaseModel):
    label_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]


class TrackingPath(BaseModel):
    carrier: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$",
                                  description="Carrier code (ups, fedex …) or account id")]
    tracking_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{4,64}$")]


async def rate_shop(body: RateRequest, shipping: ShippingService) -> RateShopResult:
    return await shipping.rate_shop(body)


async def buy_label(body: LabelRequest, headers: IdempotencyHeaders, principal: Principal,
                    shipping: ShippingService, reprint: str) -> Response:
    """201 with the label; ``reprint`` is the version's labels path the Location points at."""
    key = headers.idempotency_key
    label = await shipping.buy_label(tenant_of(principal), key, body)
    return Response(label.model_dump_json(), status_code=201, media_type="application/json",
                    headers={"Location": reprint + label.id, "Idempotency-Key": key})


async def get_label(path: LabelPath, principal: Principal, shipping: ShippingService) -> Label:
    return await shipping.get_label(path.label_id, tenant_of(principal))


async def void_label(path: LabelPath, principal: Principal,
                     shipping: ShippingService) -> VoidResult:
    result = await shipping.void_label(path.label_id, tenant_of(principal))
    if not result.voided:
        raise Conflict(f"{result.carrier} refused to void label {path.label_id}: "
                       f"{result.message or 'no reason given'}",
                       extensions={"void": result.model_dump(mode="json")})
    return result


async def track(path: TrackingPath, shipping: ShippingService) -> Tracking:
    return await shipping.track(path.carrier, path.tracking_number)
