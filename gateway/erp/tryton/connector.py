"""``ErpConnector`` for Tryton (tested against trytond 8.2 with stock and sale modules).

Identifiers: SKU = ``product.product.code``, customer = ``party.party.code``,
warehouse = ``stock.location.code`` of a location of type ``warehouse``.

Stock, whatever the number of SKUs: two reads per warehouse (``quantity`` with context
``locations=[warehouse]``; the storage zone's ``quantity`` under ``stock_assign`` and
its ``forecast_quantity``) and one read of planned receipts for all warehouses.
Concurrent stock reads within one loop turn share these calls (``Batcher``).

Prices are what ``sale.line.compute_unit_price`` gives a draft line: ``sale_price_uom``
read with the context a sale line sets — the customer, the customer's sale currency (else
the company's), the customer's price list (else the sale configuration's default list),
the product's sale unit, the sale date, and on a tax-included list the product's customer
taxes (Tryton then takes the tax out). Per batch: the party, the products with their list
price in the sale unit and currency, then one read per (quantity, taxes) group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx

from gateway.erp.base import (
    Availability,
    NewOrder,
    Order,
    PriceItem,
    PriceResult,
    UnknownCustomer,
)
from gateway.erp.batching import Batcher
from gateway.erp.tryton import mapping, wire
from gateway.erp.tryton.catalog import CatalogReader
from gateway.erp.tryton.config import TrytonConfig
from gateway.erp.tryton.orders import TrytonOrders
from gateway.erp.tryton.session import TrytonSession


class TrytonConnector:
    name = "tryton"

    def __init__(
        self, config: TrytonConfig, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        self.session = TrytonSession(config, transport=transport)
        self._catalog = CatalogReader(self.session)
        self._orders = TrytonOrders(self.session, self._catalog)
        self._stock = Batcher(self._read_stock)

    # -- protocol --------------------------------------------------------------------------

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        wanted = list(dict.fromkeys(skus))
        if not wanted:
            return {}
        return await self.session.bounded(self._stock.load(wanted), "availability")

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        return await self.session.bounded(self._prices(customer, items), "prices")

    async def warehouses(self) -> tuple[str, ...]:
        catalog = await self.session.bounded(self._catalog.get(), "warehouses")
        return tuple(code for code, _ in catalog.warehouses)

    async def create_order(self, order: NewOrder) -> Order:
        return await self.session.bounded(self._orders.create(order), "create order")

    async def find_order(self, customer: str, reference: str) -> Order | None:
        return await self.session.bounded(self._orders.find(customer, reference), "find order")

    async def get_order(self, order_id: str) -> Order:
        return await self.session.bounded(self._orders.get(order_id), "get order")

    async def cancel_order(self, order_id: str) -> Order:
        return await self.session.bounded(self._orders.cancel(order_id), "cancel order")

    async def health(self) -> None:
        async def check() -> None:
            await self._catalog.get()
            await self.session.call("model.stock.location.search_count",
                                    [[("type", "=", "warehouse")]])

        await self.session.bounded(check(), "health")

    async def check_login(self) -> str:
        """Log in now and say as whom (``check-config --connect``, start-up)."""
        context = await self.session.bounded(self.session.login(), "login")
        await self.session.bounded(self._catalog.get(), "catalog")
        return (f"logged in to Tryton database {self._config.database!r} at "
                f"{self._config.url} as {self._config.username!r} "
                f"(company {context.get('company')})")

    async def aclose(self) -> None:
        await self.session.aclose()

    # -- stock -----------------------------------------------------------------------------

    async def _read_stock(self, skus: list[str]) -> dict[str, Availability]:
        session = self.session
        catalog = await self._catalog.get()
        warehouses = catalog.warehouses
        by_code = [("code", "in", skus)]
        if not warehouses:
            rows = await session.search_read("product.product", by_code, ["code"])
            known = set(wire.product_codes(rows).values())
            return {sku: Availability(sku=sku) for sku in skus if sku in known}
        calls = [
            session.search_read("stock.move", mapping.receipts_domain(
                skus, [wh_id for _, wh_id in warehouses]), mapping.RECEIPT_FIELDS,
                order=[("planned_date", "ASC"), ("id", "ASC")]),
        ]
        for _, wh_id in warehouses:
            calls.append(session.search_read(
                "product.product", by_code, mapping.STOCK_FIELDS, {"locations": [wh_id]}))
            # storage zone only, assigned (reserved) outgoing moves counted as gone
            calls.append(session.search_read(
                "product.product", by_code, mapping.FREE_FIELDS,
                {"locations": [wh_id], "stock_skip_warehouse": True, "stock_assign": True}))
        receipts, *per_warehouse = await wire.gather(calls)
        return mapping.availability(
            skus, warehouses, per_warehouse[0::2], per_warehouse[1::2],
            mapping.earliest_receipts(receipts, catalog.locations))

    # -- prices ----------------------------------------------------------------------------

    async def _prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        session = self.session
        parties, catalog = await wire.gather([
            session.search_read("party.party", [("code", "=", customer)],
                                mapping.PARTY_FIELDS, limit=1),
            self._catalog.get(),
        ])
        if not parties:
            raise UnknownCustomer(customer)
        party = mapping.customer(wire.rows(parties, "id", "code")[0], catalog)
        context = mapping.sale_context(party, catalog, dt.date.today())
        quantities = {item.sku: item.quantity for item in items}
        skus = list(quantities)
        products = mapping.products(await session.search_read(
            "product.product", [("code", "in", skus)], mapping.PRODUCT_FIELDS, context))
        price_list = party.price_list
        tax_included = bool(price_list and price_list.tax_included)
        if tax_included:
            categories = sorted({p.category for p in products.values() if p.category})
            products = mapping.with_taxes(products, await session.call(
                "model.product.category.read", [categories, ["customer_taxes_used"]]))
        if price_list is not None:
            context["price_list"] = price_list.id
        groups = list(mapping.price_groups(quantities, products, tax_included).items())
        results = await wire.gather([
            session.search_read(
                "product.product", [("code", "in", group)], mapping.PRICE_FIELDS,
                {**context, "quantity": float(quantity), "taxes": list(taxes)})
            for (quantity, taxes), group in groups
        ])
        quotes: dict[str, PriceResult] = {}
        for ((quantity, _), group), rows in zip(groups, results, strict=True):
            by_code: dict[str, dict[str, Any]] = {}
            for row in wire.rows(rows, "id", "code"):
                product = products.get(row["code"])
                if product is not None and product.id == row["id"]:
                    by_code[row["code"]] = row
            for sku in group:
                quotes[sku] = mapping.quote(sku, by_code.get(sku), products[sku], party,
                                            Decimal(quantity))
        return {item.sku: quotes[item.sku] for item in items if item.sku in quotes}
