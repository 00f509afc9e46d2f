"""Inventory and price endpoints, v1 and v2, rendered from canonical payloads."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

from cachetools import LRUCache
from starlette.requests import Request
from starlette.responses import Response

from caching import Lookup, aggregate
from gateway.api.common import SKU_RE, InventoryQuery, PriceQuery, PricesQuery, SkuPath
from gateway.catalog import price_key
from gateway.erp.base import PriceItem
from gateway.services import services
from policies.problems import NotFound
from policies.validation import parse_json_body, parse_params, parse_query

Render = Callable[[dict[str, Any], frozenset[str] | None], dict[str, Any]]

# rendered JSON per (renderer, canonical payload, warehouse filter): a cache hit then costs
# no JSON work at all. Payloads carry their as_of, so a refreshed entry is a new key.
_rendered: LRUCache[tuple[Render, bytes, frozenset[str] | None], bytes] = LRUCache(50_000)


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


def price_v1(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
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


def price_v2(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
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


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def rendered(render: Render, lookup: Lookup, only: frozenset[str] | None = None) -> bytes:
    """The JSON of one key's payload in a version's shape."""
    assert lookup.payload is not None
    key = (render, lookup.payload, only)
    body = _rendered.get(key)
    if body is None:
        body = _rendered[key] = _dumps(render(json.loads(lookup.payload), only))
    return body


class CachedJson(Response):
    """A JSON answer built from cached payloads, headers laid out once (the hot path)."""

    media_type = "application/json"

    def __init__(self, body: bytes, summary: Lookup) -> None:
        """``summary``: the one lookup the body was built from, or ``aggregate()`` of all."""
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [
            (b"content-length", b"%d" % len(body)),
            (b"content-type", b"application/json"),
            (b"cache-status", summary.cache_status().encode()),
            (b"age", summary.age_header.encode()),
        ]


def _listing(head: bytes, items: list[bytes], missing: list[str]) -> bytes:
    return head + b'"items":[' + b",".join(items) + b'],"not_found":' + _dumps(missing) + b"}"


def _max_body(request: Request) -> int:
    return services(request).settings.server.max_body_bytes


def _path_sku(request: Request) -> str:
    sku: str = request.path_params["sku"]
    if SKU_RE.match(sku):
        return sku
    return parse_params(request.path_params, SkuPath, "path").sku  # raises the 422


async def get_inventory(request: Request, render: Render) -> Response:
    sku = _path_sku(request)
    found = await services(request).catalog.sku_availability(sku)
    if found.payload is None:
        raise NotFound(f"SKU {sku} is not known to the ERP")
    return CachedJson(rendered(render, found), found)


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
            items.append(rendered(render, found, only))
    return CachedJson(_listing(b"{", items, missing), aggregate(results.values()))


async def get_price(request: Request, render: Render) -> Response:
    sku = _path_sku(request)
    query = parse_query(request, PriceQuery)
    results = await services(request).catalog.prices(
        query.customer, [PriceItem(sku, query.quantity)])
    found = results[price_key(query.customer, sku, query.quantity)]
    if found.payload is None:
        raise NotFound(f"SKU {sku} has no price for customer {query.customer}")
    return CachedJson(rendered(render, found), found)


async def query_prices(request: Request, render: Render) -> Response:
    query = await parse_json_body(request, PricesQuery, _max_body(request))
    results = await services(request).catalog.prices(
        query.customer, [PriceItem(i.sku, i.quantity) for i in query.items])
    items, missing = [], []
    for item in query.items:
        found = results[price_key(query.customer, item.sku, item.quantity)]
        if found.payload is None:
            missing.append(item.sku)
        else:
            items.append(rendered(render, found))
    head = b'{"customer":' + _dumps(query.customer) + b","
    return CachedJson(_listing(head, items, list(dict.fromkeys(missing))),
                      aggregate(results.values()))


class Handler(Protocol):
    def __call__(self, request: Request, render: Render) -> Awaitable[Response]: ...


def rendering(handler: Handler, render: Render) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint answering with ``handler`` in one version's shape (a partial: no extra
    coroutine per request)."""
    return partial(handler, render=render)
