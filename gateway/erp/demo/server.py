"""``erp-gateway demo-erp``: the demo ERP as its own HTTP process, for benchmarks and drills.

Endpoints: ``POST /api/availability {"skus": [...]}``, ``POST /api/prices
{"customer": ..., "items": [{"sku", "quantity"}]}``, ``GET /api/warehouses``,
``POST /api/orders`` (a new order, see ``gateway.erp.wire``), ``GET /api/orders?customer=
&reference=``, ``GET /api/orders/{id}``, ``POST /api/orders/{id}/cancel``, ``GET /health``,
``GET /stats`` (call counts by kind), ``POST /stats/reset``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.erp.base import ErpError, OrderNotFound, OrderRefused, UnknownCustomer
from gateway.erp.demo.catalog import WAREHOUSES, DemoCatalog, catalog
from gateway.erp.demo.orders import DemoOrderBook
from gateway.erp.wire import (
    availability_to_wire,
    new_order_from_wire,
    order_to_wire,
    price_to_wire,
)


def create_demo_erp_app(latency_ms: float = 0.0, error_rate: float = 0.0, seed: int = 7,
                        data: DemoCatalog | None = None) -> Starlette:
    store = data or catalog()
    book = DemoOrderBook(store)
    calls: Counter[str] = Counter()
    # fetches per key ("availability SKU-0001", "prices CUST-001|SKU-0001|1") for herd checks
    per_key: Counter[str] = Counter()
    # shortest time between two fetches of one key: a cache in front must keep it >= its TTL
    last_fetch: dict[str, float] = {}
    min_gap: list[Any] = [float("inf"), None]
    rng = random.Random(seed)

    def record(keys: list[str]) -> None:
        now = time.monotonic()
        for key in keys:
            per_key[key] += 1
            if key in last_fetch and now - last_fetch[key] < min_gap[0]:
                min_gap[0], min_gap[1] = now - last_fetch[key], key
            last_fetch[key] = now

    async def simulate(kind: str) -> JSONResponse | None:
        calls[kind] += 1
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        if error_rate and rng.random() < error_rate:
            calls["errors"] += 1
            return JSONResponse({"error": "simulated failure"}, status_code=503,
                                headers={"Retry-After": "1"})
        return None

    async def body_of(request: Request) -> dict[str, Any] | None:
        try:
            doc = await request.json()
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    async def availability(request: Request) -> JSONResponse:
        doc = await body_of(request)
        skus = doc.get("skus") if doc else None
        if not isinstance(skus, list) or not all(isinstance(s, str) for s in skus):
            return JSONResponse({"error": "skus must be a list of strings"}, status_code=400)
        failed = await simulate("availability")
        if failed:
            return failed
        record([f"availability {sku}" for sku in skus])
        found = book.availability(skus)
        return JSONResponse({"items": [availability_to_wire(a) for a in found.values()]})

    async def prices(request: Request) -> JSONResponse:
        doc = await body_of(request)
        try:
            customer = str(doc["customer"]) if doc else None
            items = ([(str(i["sku"]), Decimal(str(i["quantity"]))) for i in doc["items"]]
                     if doc else None)
        except (KeyError, TypeError, InvalidOperation):
            customer = items = None
        if customer is None or items is None:
            return JSONResponse({"error": "customer and items[{sku, quantity}] required"},
                                status_code=400)
        failed = await simulate("prices")
        if failed:
            return failed
        record([f"prices {customer}|{sku}|{qty.normalize():f}" for sku, qty in items])
        found = store.customers.get(customer)
        if found is None:
            return JSONResponse({"error": "unknown_customer", "customer": customer},
                                status_code=404)
        quotes = [store.price(found, sku, qty) for sku, qty in items]
        return JSONResponse({"items": [price_to_wire(q) for q in quotes if q is not None]})

    def refused(exc: ErpError) -> JSONResponse:
        match exc:
            case UnknownCustomer():
                return JSONResponse({"error": "unknown_customer", "customer": exc.customer},
                                    status_code=404)
            case OrderNotFound():
                return JSONResponse({"error": "unknown_order", "order": exc.order_id},
                                    status_code=404)
            case OrderRefused():
                return JSONResponse({"error": "refused", "detail": str(exc)}, status_code=409)
        raise exc

    async def warehouses(request: Request) -> JSONResponse:
        return JSONResponse({"items": list(WAREHOUSES)})

    async def create_order(request: Request) -> JSONResponse:
        doc = await body_of(request)
        try:
            order = new_order_from_wire(doc or {})
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            return JSONResponse({"error": f"malformed order: {exc}"}, status_code=400)
        failed = await simulate("create_order")
        if failed:
            return failed
        try:
            return JSONResponse(order_to_wire(book.create(order)), status_code=201)
        except ErpError as exc:
            return refused(exc)

    async def find_order(request: Request) -> JSONResponse:
        customer = request.query_params.get("customer", "")
        reference = request.query_params.get("reference", "")
        failed = await simulate("find_order")
        if failed:
            return failed
        found = book.find(customer, reference)
        return JSONResponse({"items": [order_to_wire(found)] if found else []})

    async def get_order(request: Request) -> JSONResponse:
        failed = await simulate("get_order")
        if failed:
            return failed
        try:
            return JSONResponse(order_to_wire(book.get(request.path_params["order_id"])))
        except ErpError as exc:
            return refused(exc)

    async def cancel_order(request: Request) -> JSONResponse:
        failed = await simulate("cancel_order")
        if failed:
            return failed
        try:
            return JSONResponse(order_to_wire(book.cancel(request.path_params["order_id"])))
        except ErpError as exc:
            return refused(exc)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"calls": {"availability": calls["availability"],
                                       "prices": calls["prices"]},
                             "errors": calls["errors"],
                             "request_ids_seen": calls["request_ids"],
                             "max_calls_per_key": max(per_key.values(), default=0),
                             "keys": len(per_key),
                             "min_seconds_between_fetches_of_a_key": (
                                 None if min_gap[0] == float("inf") else round(min_gap[0], 3)),
                             "key_fetched_soonest_again": min_gap[1]})

    async def reset(request: Request) -> JSONResponse:
        calls.clear()
        per_key.clear()
        last_fetch.clear()
        min_gap[:] = [float("inf"), None]
        return JSONResponse({"status": "reset"})

    app = Starlette(routes=[
        Route("/api/availability", availability, methods=["POST"]),
        Route("/api/prices", prices, methods=["POST"]),
        Route("/api/warehouses", warehouses),
        Route("/api/orders", create_order, methods=["POST"]),
        Route("/api/orders", find_order, methods=["GET"]),
        Route("/api/orders/{order_id}", get_order),
        Route("/api/orders/{order_id}/cancel", cancel_order, methods=["POST"]),
        Route("/health", health),
        Route("/stats", stats),
        Route("/stats/reset", reset, methods=["POST"]),
    ])

    async def counting_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and any(k == b"x-request-id" for k, _ in scope["headers"]):
            calls["request_ids"] += 1
        await app(scope, receive, send)

    app.state.calls = calls
    return counting_app  # type: ignore[return-value]
