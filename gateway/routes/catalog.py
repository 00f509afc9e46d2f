"""Inventory and price endpoints, v1 and v2, rendered from canonical payloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import InventoryQuery, PriceQuery, PricesQuery, SkuPath
from caching import Lookup, aggregate
from gateway.catalog import price_key
from gateway.erp.base import PriceItem
from gateway.services import services
from policies.problems import NotFound
from policies.validation import parse_json_body, parse_params, parse_query

Render = Callable[[dict[str, Any], frozenset[str] | None], dict[str, Any]]


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def inventory_v1(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    rows = [w for w in doc["warehouses"] if only is None or w["warehouse"] in only]
    return {
        "sku": doc["sku"],
        "total_available": _number(str(sum(Decimal(w["available"]) for w in rows))),
        "warehouses": [{"warehouse": w["warehouse"], "available": _number(w["available"])}
                       for w in rows],
        "as_of": doc["as_of"],
    }


def price_v1(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "sku": doc["sku"],
        "customer": doc["customer"],
        "quantity": _number(doc["quantity"]),
        "unit_price": float(doc["unit_price"]),
        "currency": doc["currency"],
        "price_list": doc["price_list"],
        "as_of": doc["as_of"],
    }


def inventory_v2(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    rows = [w for w in doc["warehouses"] if only is None or w["warehouse"] in only]
    return {
        "sku": doc["sku"],
        "available_to_promise": str(sum((Decimal(w["available"]) for w in rows), Decimal(0))),
        "warehouses": [{
            "warehouse": w["warehouse"],
            "on_hand": w["on_hand"],
            "available_to_promise": w["available"],
            "next_receipt": ({"date": w["next_receipt_date"],
                              "quantity": w["next_receipt_quantity"]}
                             if w.get("next_receipt_date") else None),
        } for w in rows],
        "as_of": doc["as_of"],
    }


def price_v2(doc: dict[str, Any]) -> dict[str, Any]:
    currency = {"code": doc["currency"]}
    return {
        "sku": doc["sku"],
        "customer": doc["customer"],
        "quantity": doc["quantity"],
        "unit_price": {"amount": doc["unit_price"], "currency": currency},
        "list_price": {"amount": doc["list_price"], "currency": currency},
        "price_list": doc["price_list"],
        "as_of": doc["as_of"],
    }


def _doc(lookup: Lookup) -> dict[str, Any]:
    assert lookup.payload is not None
    doc: dict[str, Any] = json.loads(lookup.payload)
    return doc


def json_response(body: Any, lookups: list[Lookup]) -> Response:
    """JSON body with ``Cache-Status`` and ``Age`` for the keys it was built from."""
    summary = aggregate(lookups)
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json",
                    headers={"Cache-Status": summary.cache_status(), "Age": summary.age_header})


def _max_body(request: Request) -> int:
    return services(request).settings.server.max_body_bytes


async def get_inventory(request: Request, render: Render) -> Response:
    path = parse_params(request.path_params, SkuPath, "path")
    found = (await services(request).catalog.availability([path.sku]))[path.sku]
    if found.payload is None:
        raise NotFound(f"SKU {path.sku} is not known to the ERP")
    return json_response(render(_doc(found), None), [found])


async def query_inventory(request: Request, render: Render) -> Response:
    query = await parse_json_body(request, InventoryQuery, _max_body(request))
    only = frozenset(query.warehouses) if query.warehouses else None
    results = await services(request).catalog.availability(query.skus)
    items, missing = [], []
    for sku in dict.fromkeys(query.skus):
        found = results[sku]
        if found.payload is None:
            missing.append(sku)
        else:
            items.append(render(_doc(found), only))
    return json_response({"items": items, "not_found": missing}, list(results.values()))


async def get_price(request: Request, render: Callable[[dict[str, Any]], dict[str, Any]]
                    ) -> Response:
    path = parse_params(request.path_params, SkuPath, "path")
    query = parse_query(request, PriceQuery)
    results = await services(request).catalog.prices(
        query.customer, [PriceItem(path.sku, query.quantity)])
    found = results[price_key(query.customer, path.sku, query.quantity)]
    if found.payload is None:
        raise NotFound(f"SKU {path.sku} has no price for customer {query.customer}")
    return json_response(render(_doc(found)), [found])


async def query_prices(request: Request, render: Callable[[dict[str, Any]], dict[str, Any]]
                       ) -> Response:
    query = await parse_json_body(request, PricesQuery, _max_body(request))
    results = await services(request).catalog.prices(
        query.customer, [PriceItem(i.sku, i.quantity) for i in query.items])
    items, missing = [], []
    for item in query.items:
        found = results[price_key(query.customer, item.sku, item.quantity)]
        if found.payload is None:
            missing.append(item.sku)
        else:
            items.append(render(_doc(found)))
    return json_response({"customer": query.customer, "items": items,
                          "not_found": list(dict.fromkeys(missing))}, list(results.values()))


async def get_inventory_v1(request: Request) -> Response:
    return await get_inventory(request, inventory_v1)


async def query_inventory_v1(request: Request) -> Response:
    return await query_inventory(request, inventory_v1)


async def get_price_v1(request: Request) -> Response:
    return await get_price(request, price_v1)


async def query_prices_v1(request: Request) -> Response:
    return await query_prices(request, price_v1)


async def get_inventory_v2(request: Request) -> Response:
    return await get_inventory(request, inventory_v2)


async def query_inventory_v2(request: Request) -> Response:
    return await query_inventory(request, inventory_v2)


async def get_price_v2(request: Request) -> Response:
    return await get_price(request, price_v2)


async def query_prices_v2(request: Request) -> Response:
    return await query_prices(request, price_v2)
