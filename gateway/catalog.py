"""Availability and prices as the routes see them: canonical payloads per key, cached.

Each SKU's availability and each (customer, SKU, quantity) price is one
canonical JSON payload that carries its own ``as_of``; versions render from it.
Every read goes through the two-tier cache, which calls the fetch functions
below with all the keys it is missing, in one batch. A SKU the ERP knows but cannot
price is cached as a payload with an ``error`` (the other SKUs of the batch keep their
prices). Availability entries carry the tags ``sku:`` and ``stock:`` (an order evicts
only the stock of its SKUs), prices ``sku:``, ``customer:`` and ``price_list:``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from caching import Lookup, TieredCache
from gateway.erp.base import ErpConnector, PriceItem, PriceQuote
from gateway.erp.wire import availability_to_wire, price_to_wire

# how long the ERP's list of warehouses is reused for filter checks
WAREHOUSES_TTL = 60.0


def stock_tags(skus: Sequence[str]) -> list[str]:
    """The tags that evict the cached availability (only) of ``skus``."""
    return [f"stock:{sku}" for sku in skus]


def _stamp(doc: dict[str, Any], fetched_at: float) -> bytes:
    doc["as_of"] = datetime.fromtimestamp(fetched_at, UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(doc, separators=(",", ":")).encode()


def quantity_key(quantity: Decimal) -> str:
    """Canonical text of a quantity: 1, 1.0 and 1.00 are one cache key."""
    return format(quantity.normalize(), "f")


def price_key(customer: str, sku: str, quantity: Decimal) -> str:
    """Everything that changes a price: the customer (its price list and contracts follow
    from it in the ERP), the SKU and the exact quantity (quantity breaks)."""
    return f"{customer}|{sku}|{quantity_key(quantity)}"


class CatalogService:
    def __init__(self, erp: ErpConnector, cache: TieredCache,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.erp = erp
        self.cache = cache
        self._clock = clock
        self._warehouses: tuple[float, frozenset[str]] | None = None

    async def warehouses(self) -> frozenset[str]:
        """The ERP's warehouse codes, read at most once per ``WAREHOUSES_TTL``."""
        known = self._warehouses
        if known is None or self._clock() - known[0] >= WAREHOUSES_TTL:
            known = self._warehouses = (self._clock(), frozenset(await self.erp.warehouses()))
        return known[1]

    async def fetch_availability(self, skus: list[str]
                                 ) -> dict[str, tuple[bytes | None, list[str]]]:
        """One ERP call for all ``skus``; payloads with tags for invalidation."""
        now = time.time()
        found = await self.erp.availability(skus)
        return {sku: ((_stamp(availability_to_wire(found[sku]), now) if sku in found else None),
                      [f"sku:{sku}", f"stock:{sku}"]) for sku in skus}

    async def fetch_prices(self, keys: list[str]) -> dict[str, tuple[bytes | None, list[str]]]:
        """Price keys grouped per customer: one ERP call per customer among ``keys``."""
        now = time.time()
        by_customer: dict[str, list[tuple[str, PriceItem]]] = {}
        for key in keys:
            # SKUs may hold "|" (customer ids and quantities cannot): split from both ends
            customer, rest = key.split("|", 1)
            sku, qty = rest.rsplit("|", 1)
            by_customer.setdefault(customer, []).append((key, PriceItem(sku, Decimal(qty))))
        out: dict[str, tuple[bytes | None, list[str]]] = {}
        for customer, entries in by_customer.items():
            # one call per distinct quantity keeps the result keyed by SKU unambiguous
            by_qty: dict[Decimal, list[tuple[str, PriceItem]]] = {}
            for key, item in entries:
                by_qty.setdefault(item.quantity, []).append((key, item))
            for group in by_qty.values():
                quotes = await self.erp.prices(customer, [item for _, item in group])
                for key, item in group:
                    quote = quotes.get(item.sku)
                    tags = [f"sku:{item.sku}", f"customer:{customer}"]
                    if isinstance(quote, PriceQuote) and quote.price_list:
                        tags.append(f"price_list:{quote.price_list}")
                    out[key] = ((_stamp(price_to_wire(quote), now) if quote else None), tags)
        return out

    def sku_availability(self, sku: str) -> Awaitable[Lookup]:
        # the cache's coroutine itself: one frame less on the hottest read
        return self.cache.get("inventory", sku, self.fetch_availability)

    async def availability(self, skus: Sequence[str]) -> dict[str, Lookup]:
        # get_many answers each distinct key once
        return await self.cache.get_many("inventory", skus, self.fetch_availability)

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, Lookup]:
        keys = [price_key(customer, i.sku, i.quantity) for i in items]
        return await self.cache.get_many("prices", keys, self.fetch_prices)
