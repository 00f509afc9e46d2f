"""Shipping endpoints: rate-shop, buy (idempotent), reprint, void, track."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from carriers.models import LabelRequest, RateRequest
from carriers.registry import UnknownCarrierAccount
from carriers.service import ShippingService
from gateway.services import services
from policies.auth import require_scope
from policies.problems import BadRequest, Conflict, Unprocessable
from policies.validation import parse_json_body, parse_params

# printable ASCII without spaces, as the IETF Idempotency-Key draft's examples use
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class LabelPath(BaseModel):
    label_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]


class TrackingPath(BaseModel):
    carrier: Annotated[str, Field(pattern=r"^[a-z0-9_\-]{1,40}$",
                                  description="Carrier code (ups, fedex …) or account id")]
    tracking_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9\-]{4,64}$")]


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(model.model_dump_json(), status_code=status, headers=headers,
                    media_type="application/json")


def _shipping(request: Request) -> ShippingService:
    return services(request).shipping


def _max_body(request: Request) -> int:
    return services(request).settings.server.max_body_bytes


async def rate_shop(request: Request) -> Response:
    body = await parse_json_body(request, RateRequest, _max_body(request))
    try:
        return _json(await _shipping(request).rate_shop(body))
    except UnknownCarrierAccount as exc:  # named in the body: the body is what is wrong
        raise Unprocessable(str(exc).strip("'\"")) from None


async def buy_label(request: Request) -> Response:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise BadRequest("the Idempotency-Key header is required to buy a label: "
                         "send the same key when you retry so the label is bought once")
    if not _IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key must be 1 to 255 printable ASCII characters "
                         "without spaces")
    body = await parse_json_body(request, LabelRequest, _max_body(request))
    principal = require_scope(request, "labels:write")
    try:
        label = await _shipping(request).buy_label(principal.client_id, key, body)
    except UnknownCarrierAccount as exc:
        raise Unprocessable(str(exc).strip("'\"")) from None
    location = str(request.url_for(_reprint_route(request), label_id=label.id).path)
    return _json(label, 201, {"Location": location, "Idempotency-Key": key})


def _reprint_route(request: Request) -> str:
    version = request.url.path.split("/", 2)[1]
    return f"getLabel{version.upper()}"


async def get_label(request: Request) -> Response:
    path = parse_params(request.path_params, LabelPath, "path")
    return _json(await _shipping(request).get_label(path.label_id))


async def void_label(request: Request) -> Response:
    path = parse_params(request.path_params, LabelPath, "path")
    result = await _shipping(request).void_label(path.label_id)
    if not result.voided:
        raise Conflict(f"{result.carrier} refused to void label {path.label_id}: "
                       f"{result.message or 'no reason given'}",
                       extensions={"void": result.model_dump(mode="json")})
    return _json(result)


async def track(request: Request) -> Response:
    path = parse_params(request.path_params, TrackingPath, "path")
    return _json(await _shipping(request).track(path.carrier, path.tracking_number))
