"""Inventory and price endpoints, v1 and v2, rendered from canonical payloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cachetools import LRUCache
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from caching import Lookup, aggregate
from gateway.catalog import CatalogService, price_key
from gateway.erp.base import PriceItem
from gateway.schemas.common import InventoryQuery, PriceQuery, PricesQuery, SkuPath
from policies.conditional import entity_tag, none_match
from policies.problems import NotFound, Unprocessable

Render = Callable[[dict[str, Any], frozenset[str] | None], dict[str, Any]]

# rendered JSON and its ETag per (renderer, canonical payload, warehouse filter): a cache hit
# then costs no JSON work and no hashing. Payloads carry their as_of, so a refreshed entry is
# a new key (and a new ETag).
# The flag says the body is a per-item error ({"sku", "detail"}), not an item.
_rendered: LRUCache[tuple[Render, bytes, frozenset[str] | None],
                    tuple[bytes, bytes, bool]] = LRUCache(50_000)


class Unpriced(Exception):
    """A price payload this version cannot show as an item; ``detail`` says why."""

    def __init__(self, sku: str, detail: str) -> None:
        super().__init__(detail)
        self.sku = sku
        self.detail = detail


def _priced(doc: dict[str, Any]) -> None:
    if "error" in doc:
        raise Unpriced(doc["sku"], doc["error"])


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
        "unit": doc.get("unit", "unit"),
        "as_of": doc["as_of"],
    }


def price_v1(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    _priced(doc)
    return {
        "sku": doc["sku"],
        "customer": doc["customer"],
        "quantity": _number(doc["quantity"]),
        "unit_price": float(doc["unit_price"]),
        "currency": doc["currency"],
        "price_list": doc["price_list"],
        "tax_included": doc.get("tax_included", False),
        "unit": doc.get("unit", "unit"),
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
        "unit": doc.get("unit", "unit"),
        "as_of": doc["as_of"],
    }


def price_v2(doc: dict[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    _priced(doc)
    currency = {"code": doc["currency"]}
    if doc["list_price"] is None:
        raise Unpriced(doc["sku"], f"{doc['sku']} has no list price, which v2 requires; "
                       f"its unit price for {doc['customer']} is {doc['unit_price']} "
                       f"{doc['currency']} (v1 shows it)")
    return {
        "sku": doc["sku"],
        "customer": doc["customer"],
        "quantity": doc["quantity"],
        "unit_price": {"amount": doc["unit_price"], "currency": currency},
        "list_price": {"amount": doc["list_price"], "currency": currency},
        "price_list": doc["price_list"],
        "tax_included": doc.get("tax_included", False),
        "unit": doc.get("unit", "unit"),
        "as_of": doc["as_of"],
    }


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _entry(render: Render, lookup: Lookup,
           only: frozenset[str] | None) -> tuple[bytes, bytes, bool]:
    assert lookup.payload is not None
    key = (render, lookup.payload, only)
    entry = _rendered.get(key)
    if entry is None:
        try:
            body, error = _dumps(render(json.loads(lookup.payload), only)), False
        except Unpriced as exc:
            body, error = _dumps({"sku": exc.sku, "detail": exc.detail}), True
        entry = _rendered[key] = (body, entity_tag(body), error)
    return entry


def rendered_tagged(render: Render, lookup: Lookup,
                    only: frozenset[str] | None = None) -> tuple[bytes, bytes]:
    """The JSON of one key's payload in a version's shape, and its strong ETag; 404 with
    the reason when this version cannot show it (the ERP cannot price the SKU)."""
    body, etag, error = _entry(render, lookup, only)
    if error:
        raise NotFound(json.loads(body)["detail"])
    return body, etag


def rendered_item(render: Render, lookup: Lookup,
                  only: frozenset[str] | None = None) -> tuple[bytes, bool]:
    """The JSON of one item of a listing, and whether it is a per-item error."""
    body, _, error = _entry(render, lookup, only)
    return body, error


def rendered(render: Render, lookup: Lookup, only: frozenset[str] | None = None) -> bytes:
    """The JSON of one key's payload in a version's shape."""
    return rendered_tagged(render, lookup, only)[0]


class CachedJson(Response):
    """A JSON answer built from cached payloads, headers laid out once (the hot path).

    With an ``etag`` it answers a matching ``If-None-Match`` with 304 and no body. Only the
    single-resource GETs have one: a POST query's answer is not a representation of its
    target resource, and a matching precondition on a POST would mean 412, not 304.
    """

    media_type = "application/json"

    def __init__(self, body: bytes, summary: Lookup, etag: bytes | None = None) -> None:
        """``summary``: the one lookup the body was built from, or ``aggregate()`` of all."""
        self.status_code = 200
        self.background = None
        self.body = body
        self.etag = etag
        self.raw_headers = [
            (b"content-length", b"%d" % len(body)),
            (b"content-type", b"application/json"),
            (b"cache-status", summary.cache_status().encode()),
            (b"age", summary.age_header.encode()),
        ]
        if etag is not None:
            self.raw_headers.append((b"etag", etag))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.etag is not None:
            conditions = None
            for name, value in scope["headers"]:
                if name == b"if-none-match":
                    conditions = [value] if conditions is None else [*conditions, value]
            if conditions is not None and none_match(conditions, self.etag):
                # RFC 9110 15.4.5: the headers a 200 would carry, without the content's own
                await send({"type": "http.response.start", "status": 304,
                            "headers": self.raw_headers[2:]})
                await send({"type": "http.response.body", "body": b""})
                return
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def _listing(head: bytes, items: list[bytes], missing: list[str],
             errors: list[bytes] | None = None) -> bytes:
    tail = b',"errors":[' + b",".join(errors) + b"]" if errors is not None else b""
    return (head + b'"items":[' + b",".join(items) + b'],"not_found":' + _dumps(missing)
            + tail + b"}")


async def get_inventory(path: SkuPath, catalog: CatalogService, render: Render) -> Response:
    found = await catalog.sku_availability(path.sku)
    if found.payload is None:
        raise NotFound(f"SKU {path.sku} is not known to the ERP")
    body, etag = rendered_tagged(render, found)
    return CachedJson(body, found, etag)


async def query_inventory(body: InventoryQuery, catalog: CatalogService,
                          render: Render) -> Response:
    only = frozenset(body.warehouses) if body.warehouses else None
    if body.warehouses:
        known = await catalog.warehouses()
        unknown = [w for w in dict.fromkeys(body.warehouses) if w not in known]
        if unknown:
            raise Unprocessable(
                f"unknown warehouse(s) {', '.join(unknown)} in the filter; the ERP has "
                f"{', '.join(sorted(known))}",
                extensions={"errors": [
                    {"pointer": f"#/warehouses/{body.warehouses.index(w)}",
                     "detail": f"unknown warehouse {w}"} for w in unknown]})
    results = await catalog.availability(body.skus)
    items, missing = [], []
    for sku in dict.fromkeys(body.skus):
        found = results[sku]
        if found.payload is None:
            missing.append(sku)
        else:
            items.append(rendered(render, found, only))
    return CachedJson(_listing(b"{", items, missing), aggregate(results.values()))


async def get_price(path: SkuPath, query: PriceQuery, catalog: CatalogService,
                    render: Render) -> Response:
    results = await catalog.prices(query.customer, [PriceItem(path.sku, query.quantity)])
    found = results[price_key(query.customer, path.sku, query.quantity)]
    if found.payload is None:
        raise NotFound(f"SKU {path.sku} has no price for customer {query.customer}")
    body, etag = rendered_tagged(render, found)
    return CachedJson(body, found, etag)


async def query_prices(body: PricesQuery, catalog: CatalogService, render: Render) -> Response:
    results = await catalog.prices(
        body.customer, [PriceItem(i.sku, i.quantity) for i in body.items])
    items: list[bytes] = []
    errors: list[bytes] = []
    missing: list[str] = []
    for item in body.items:
        found = results[price_key(body.customer, item.sku, item.quantity)]
        if found.payload is None:
            missing.append(item.sku)
        else:
            rendered_body, error = rendered_item(render, found)
            (errors if error else items).append(rendered_body)
    head = b'{"customer":' + _dumps(body.customer) + b","
    return CachedJson(_listing(head, items, list(dict.fromkeys(missing)), errors),
                      aggregate(results.values()))
