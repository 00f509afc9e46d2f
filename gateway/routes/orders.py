"""Order handlers: place (once per Idempotency-Key), read, cancel; the caller's own only."""

from __future__ import annotations

from starlette.responses import Response

from gateway.orders.models import OrderOut, OrderPath, OrderRequest
from gateway.orders.owner import owner_key
from gateway.orders.service import OrderService
from gateway.schemas.headers import IdempotencyHeaders
from policies.auth import Principal


async def place_order(body: OrderRequest, headers: IdempotencyHeaders, principal: Principal,
                      orders: OrderService, location: str) -> Response:
    """201 with the ERP's order; ``location`` is the version's orders path. A replay of
    the same key answers the same order, marked ``Idempotent-Replayed: true``."""
    key = headers.idempotency_key
    placed = await orders.place(owner_key(principal), key, body)
    out = OrderOut.of(placed.order)
    response_headers = {"Location": location + out.id, "Idempotency-Key": key}
    if placed.replayed:
        response_headers["Idempotent-Replayed"] = "true"
    return Response(out.model_dump_json(), status_code=201, media_type="application/json",
                    headers=response_headers)


async def get_order(path: OrderPath, principal: Principal, orders: OrderService) -> OrderOut:
    return OrderOut.of(await orders.get(owner_key(principal), path.order_id))


async def cancel_order(path: OrderPath, principal: Principal, orders: OrderService) -> OrderOut:
    return OrderOut.of(await orders.cancel(owner_key(principal), path.order_id))
