"""Sales orders in Tryton: ``sale.sale`` created with its lines, quoted and confirmed;
found by the channel's reference; read with its shipments; cancelled where Tryton's sale
workflow allows it (draft, quotation, confirmed but not yet processed).

Identifiers: an order is its sale ``number``; its ``reference`` is the channel's own
order reference; the placing channel is kept in the sale's ``comment``. The ship-to
address becomes (or reuses) a ``party.address`` of the customer. A shipment's tracking
number is its ``reference`` (the external identifier a carrier integration fills in).
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.erp.base import (
    Address,
    ErpBadResponse,
    NewOrder,
    Order,
    OrderNotFound,
    OrderRefused,
    UnknownCustomer,
)
from gateway.erp.tryton import mapping, wire
from gateway.erp.tryton.catalog import CatalogReader
from gateway.erp.tryton.session import TrytonSession

log = logging.getLogger("gateway.erp.tryton")


class TrytonOrders:
    def __init__(self, session: TrytonSession, catalog: CatalogReader) -> None:
        self._session = session
        self._catalog = catalog

    async def create(self, order: NewOrder) -> Order:
        session = self._session
        catalog = await self._catalog.get()
        warehouse = catalog.warehouse_id(order.warehouse)
        if warehouse is None:
            raise OrderRefused(f"Tryton has no reported warehouse {order.warehouse!r}")
        skus = sorted({line.sku for line in order.lines})
        parties, products, countries = await wire.gather([
            session.search_read("party.party", [("code", "=", order.customer)],
                                ["code", "sale_price_list", "customer_currency"], limit=1),
            session.search_read("product.product", [("code", "in", skus)],
                                ["code", "sale_uom"]),
            session.search_read("country.country", [("code", "=", order.ship_to.country)],
                                ["code"], limit=1),
        ])
        if not parties:
            raise UnknownCustomer(order.customer)
        party = wire.rows(parties, "id")[0]
        by_code = {code: product_id for product_id, code in wire.product_codes(products).items()}
        units = {row["id"]: row["sale_uom"] for row in wire.rows(products, "id", "sale_uom")}
        unknown = [sku for sku in skus if sku not in by_code]
        if unknown:
            raise OrderRefused(f"Tryton does not know {', '.join(unknown)}")
        country = wire.rows(countries, "id")[0]["id"] if countries else None
        address = await self._address(party["id"], order.ship_to, country)
        price_list = party.get("sale_price_list") or (
            catalog.default_price_list.id if catalog.default_price_list else None)
        values = mapping.sale_values(
            order, party["id"], warehouse, address,
            party.get("customer_currency") or catalog.currency_id,
            {sku: (product_id, units[product_id]) for sku, product_id in by_code.items()},
            price_list)
        created = await session.call("model.sale.sale.create", [[values]])
        if not isinstance(created, list) or len(created) != 1 or not isinstance(created[0], int):
            wire.bad("sale.sale.create did not return one id")
        sale_id = created[0]
        try:
            await session.call("model.sale.sale.quote", [[sale_id]])
            await session.call("model.sale.sale.confirm", [[sale_id]])
        except ErpBadResponse as exc:
            # Tryton refused the quotation or confirmation: the draft must not linger
            await self._discard(sale_id)
            raise OrderRefused(f"Tryton refused the order: {exc}") from None
        return await self._read([("id", "=", sale_id)], str(sale_id))

    async def find(self, customer: str, reference: str) -> Order | None:
        domain = [("party.code", "=", customer), ("reference", "=", reference)]
        try:
            return await self._read(domain, reference)
        except OrderNotFound:
            return None

    async def get(self, order_id: str) -> Order:
        return await self._read([("number", "=", order_id)], order_id)

    async def cancel(self, order_id: str) -> Order:
        rows = await self._session.search_read(
            "sale.sale", [("number", "=", order_id)], ["state"], limit=1)
        if not rows:
            raise OrderNotFound(order_id)
        sale = wire.rows(rows, "id", "state")[0]
        state = sale["state"]
        if state == "confirmed":
            await self._session.call("model.sale.sale.draft", [[sale["id"]]])
        elif state == "cancelled":
            return await self.get(order_id)
        elif state not in ("draft", "quotation"):
            raise OrderRefused(
                f"Tryton does not cancel a sale in state {state!r}: its shipments are under "
                "way; cancel them in Tryton first")
        await self._session.call("model.sale.sale.cancel", [[sale["id"]]])
        return await self.get(order_id)

    async def _read(self, domain: list[Any], what: str) -> Order:
        rows = await self._session.search_read(
            "sale.sale", domain, mapping.SALE_FIELDS, order=[("id", "ASC")], limit=1)
        if not rows:
            raise OrderNotFound(what)
        sale = wire.rows(rows, "id", "lines", "shipments")[0]
        lines, shipments = await wire.gather([
            self._session.call("model.sale.line.read", [sale["lines"], mapping.LINE_FIELDS]),
            self._session.call("model.stock.shipment.out.read",
                               [sale["shipments"], mapping.SHIPMENT_FIELDS]),
        ])
        return mapping.order(sale, lines, shipments)

    async def _address(self, party: int, ship_to: Address, country: int | None) -> int:
        """The customer's address equal to ``ship_to``, created when it has none."""
        values: dict[str, Any] = {
            "party_name": ship_to.name,
            "street_unstructured": "\n".join(ship_to.street),
            "city": ship_to.city,
            "postal_code": ship_to.postal_code,
            "country": country,
        }
        domain = [("party", "=", party), *((k, "=", v) for k, v in values.items())]
        found = await self._session.search_read("party.address", domain, ["id"], limit=1)
        if found:
            return int(wire.rows(found, "id")[0]["id"])
        created = await self._session.call(
            "model.party.address.create", [[{"party": party, **values}]])
        if not isinstance(created, list) or not created or not isinstance(created[0], int):
            wire.bad("party.address.create did not return an id")
        return created[0]

    async def _discard(self, sale_id: int) -> None:
        try:
            await self._session.call("model.sale.sale.cancel", [[sale_id]])
            await self._session.call("model.sale.sale.delete", [[sale_id]])
        except Exception as exc:  # the original refusal is what the caller needs to see
            log.warning("could not remove refused Tryton sale %s: %s", sale_id, exc)

