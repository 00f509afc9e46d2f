"""Pure mapping between Tryton records (as ``search_read`` returns them) and the
connector's data types: stock, receipts, sale-line prices, sales orders. No I/O."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from gateway.erp.base import (
    Availability,
    NewOrder,
    Order,
    OrderLineState,
    OrderState,
    PriceQuote,
    PriceResult,
    PriceUnavailable,
    Shipment,
    WarehouseStock,
)
from gateway.erp.tryton import wire
from gateway.erp.tryton.catalog import Catalog, PriceListRef, price_list_ref

# -- stock ---------------------------------------------------------------------------------

STOCK_FIELDS = ["code", "quantity", "default_uom.symbol"]
FREE_FIELDS = ["code", "quantity", "forecast_quantity"]
RECEIPT_FIELDS = ["product", "planned_date", "internal_quantity", "to_location"]


def receipts_domain(skus: Sequence[str], warehouse_ids: Sequence[int]) -> list[Any]:
    """Planned moves into any reported warehouse from outside it (purchases, transfers)."""
    return [
        ("product.code", "in", list(skus)),
        ("state", "in", ["draft", "assigned"]),
        ("planned_date", "!=", None),
        ("to_location", "child_of", list(warehouse_ids), "parent"),
        ("from_location", "not child_of", list(warehouse_ids), "parent"),
    ]


def earliest_receipts(rows: Any, locations: Mapping[int, int]
                      ) -> dict[tuple[int, int], tuple[dt.date, Decimal]]:
    """(warehouse id, product id) -> earliest planned date and the quantity due that day;
    ``locations`` maps each location inside a warehouse to the warehouse."""
    earliest: dict[tuple[int, int], tuple[dt.date, Decimal]] = {}
    for row in wire.rows(rows, "product", "planned_date", "internal_quantity", "to_location"):
        warehouse = locations.get(row["to_location"])
        date = row["planned_date"]
        if not isinstance(warehouse, int):
            continue  # a location outside every warehouse
        if not isinstance(date, dt.date):
            wire.bad("stock.move planned_date is not a date")
        slot = (warehouse, row["product"])
        seen = earliest.get(slot)
        if seen is None or date < seen[0]:
            earliest[slot] = (date, wire.qty(row["internal_quantity"]))
        elif seen[0] == date:
            earliest[slot] = (date, seen[1] + wire.qty(row["internal_quantity"]))
    return earliest


def availability(
    skus: Sequence[str],
    warehouses: Sequence[tuple[str, int]],
    on_hand: Sequence[Any],
    free: Sequence[Any],
    receipts: Mapping[tuple[int, int], tuple[dt.date, Decimal]],
) -> dict[str, Availability]:
    """Stock per SKU from one on-hand and one free-stock read per warehouse.

    ``available`` is the storage zone's free stock (Tryton's ``stock_assign`` quantity:
    assigned outgoing moves count as gone) capped by its forecast (planned outgoing
    moves), never below zero.
    """
    codes: dict[int, str] = {}
    units: dict[str, str] = {}
    stock: dict[str, list[WarehouseStock]] = defaultdict(list)
    for (_, wh_id), on_hand_rows, free_rows in zip(warehouses, on_hand, free, strict=True):
        codes.update(wire.product_codes(on_hand_rows))
        free_by_id = {row["id"]: row for row in wire.rows(free_rows, "id", "quantity")}
        for row in wire.rows(on_hand_rows, "id", "quantity"):
            product_id = row["id"]
            if product_id not in codes:
                continue
            uom = row.get("default_uom.")
            if isinstance(uom, dict) and isinstance(uom.get("symbol"), str):
                units[codes[product_id]] = uom["symbol"]
            free_row = free_by_id.get(product_id, {})
            available = min(wire.qty(free_row.get("quantity")),
                            wire.qty(free_row.get("forecast_quantity")))
            receipt_date, receipt_qty = receipts.get((wh_id, product_id), (None, None))
            stock[codes[product_id]].append(WarehouseStock(
                warehouse=_code_of(warehouses, wh_id),
                on_hand=wire.qty(row["quantity"]),
                available=max(available, Decimal(0)),
                next_receipt_date=receipt_date,
                next_receipt_quantity=receipt_qty,
            ))
    known = set(codes.values())
    return {
        code: Availability(sku=code, warehouses=tuple(stock.get(code, ())),
                           unit=units.get(code, "unit"))
        for code in skus if code in known
    }


def _code_of(warehouses: Sequence[tuple[str, int]], wh_id: int) -> str:
    return next(code for code, found in warehouses if found == wh_id)


# -- prices --------------------------------------------------------------------------------

PARTY_FIELDS = ["code", "sale_price_list.name", "sale_price_list.tax_included",
                "customer_currency"]
PRODUCT_FIELDS = ["code", "sale_price_uom", "list_price_used", "account_category",
                  "sale_uom.symbol", "sale_uom.factor", "default_uom.factor"]
PRICE_FIELDS = ["code", "sale_price_uom"]


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    code: str
    price_list: PriceListRef | None
    currency_id: int
    currency: str


def customer(row: dict[str, Any], catalog: Catalog) -> Customer:
    """The party as a draft sale sees it: its own list, else the configuration's default
    list; its sale currency, else the company's."""
    own = row.get("sale_price_list.")
    price_list = price_list_ref(own) if own else catalog.default_price_list
    currency_id = row.get("customer_currency") or catalog.currency_id
    if currency_id not in catalog.currencies:
        wire.bad(f"party currency {currency_id!r} is not a known currency")
    return Customer(row["id"], str(row["code"]), price_list, currency_id,
                    catalog.currencies[currency_id])


def sale_context(party: Customer, catalog: Catalog, today: dt.date) -> dict[str, Any]:
    """The context ``sale.line.compute_unit_price`` sets (without price list and taxes)."""
    return {"customer": party.id, "currency": party.currency_id, "company": catalog.company,
            "sale_date": today}


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    code: str
    unit: str
    stock_units: Decimal
    # the accounting category, whose customer taxes a sale line applies
    category: int | None
    # list price in the sale unit and the customer's currency
    list_price: Decimal | None
    taxes: tuple[int, ...] = ()


def products(rows: Any) -> dict[str, Product]:
    """The products by code (the oldest of a shared code), each read with the list price
    converted (``sale_price_uom`` without a price list in the context)."""
    codes = wire.product_codes(rows)
    out: dict[str, Product] = {}
    for row in wire.rows(rows, "id", "code"):
        if row["id"] not in codes:
            continue
        sale_uom = row.get("sale_uom.") or {}
        default_uom = row.get("default_uom.") or {}
        sale_factor = _decimal(sale_uom.get("factor")) if isinstance(sale_uom, dict) else None
        stock_factor = (_decimal(default_uom.get("factor"))
                        if isinstance(default_uom, dict) else None)
        ratio = (sale_factor / stock_factor if sale_factor and stock_factor
                 else Decimal(1))
        list_price = row.get("sale_price_uom")
        out[row["code"]] = Product(
            id=row["id"],
            code=row["code"],
            unit=str(sale_uom.get("symbol") or "unit") if isinstance(sale_uom, dict) else "unit",
            stock_units=ratio.normalize(),
            category=row.get("account_category") if isinstance(
                row.get("account_category"), int) else None,
            list_price=list_price if isinstance(list_price, Decimal) else None,
        )
    return out


def with_taxes(found: Mapping[str, Product], categories: Any) -> dict[str, Product]:
    """The products with their category's customer taxes (``customer_taxes_used``)."""
    taxes = {row["id"]: tuple(sorted(t for t in row["customer_taxes_used"] or ()
                                     if isinstance(t, int)))
             for row in wire.rows(categories, "id", "customer_taxes_used")}
    return {code: replace(product, taxes=taxes.get(product.category or 0, ()))
            for code, product in found.items()}


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def price_groups(
    quantities: Mapping[str, Decimal], found: Mapping[str, Product], tax_included: bool
) -> dict[tuple[Decimal, tuple[int, ...]], list[str]]:
    """SKUs that share one price read: same quantity and, on a tax-included list, the same
    taxes (the line's net price is the list's price with those taxes taken out)."""
    groups: dict[tuple[Decimal, tuple[int, ...]], list[str]] = defaultdict(list)
    for sku, quantity in quantities.items():
        if sku in found:
            taxes = found[sku].taxes if tax_included else ()
            groups[(quantity, taxes)].append(sku)
    return groups


def quote(
    sku: str, row: dict[str, Any] | None, product: Product, party: Customer,
    quantity: Decimal,
) -> PriceResult:
    """One SKU's sale-line price; a missing or unusable price is this SKU's problem only."""
    price_list = party.price_list
    unit_price = row.get("sale_price_uom") if row is not None else None
    if unit_price is None:
        where = f"price list {price_list.name!r}" if price_list else "its list price"
        return PriceUnavailable(sku, f"Tryton gives no sale price for {sku} ({where})")
    if not isinstance(unit_price, Decimal):
        return PriceUnavailable(sku, f"Tryton's sale price for {sku} is not a decimal")
    return PriceQuote(
        sku=sku, customer=party.code, quantity=quantity, unit_price=unit_price,
        currency=party.currency, price_list=price_list.name if price_list else None,
        list_price=product.list_price,
        # a Tryton line price is always net: a tax-included list's taxes were taken out
        tax_included=False,
        unit=product.unit, stock_units=product.stock_units,
    )


# -- orders --------------------------------------------------------------------------------

SALE_FIELDS = ["number", "reference", "comment", "state", "shipment_state", "party.code",
               "currency.code", "warehouse.code", "untaxed_amount", "lines", "shipments"]
LINE_FIELDS = ["product.code", "quantity", "unit.symbol", "unit_price", "type"]
SHIPMENT_FIELDS = ["number", "reference", "state"]
CHANNEL_PREFIX = "erp-gateway channel: "


def channel_comment(channel: str) -> str:
    """How the placing channel is kept on the sale (its comment), to decide ownership."""
    return CHANNEL_PREFIX + channel


def sale_values(order: NewOrder, party_id: int, warehouse_id: int, address_id: int,
                currency_id: int, products: Mapping[str, tuple[int, int]],
                price_list: int | None) -> dict[str, Any]:
    """``sale.sale`` create values: lines in the sale unit (``products``: SKU -> product
    id and sale unit id), priced as quoted, shipped from one warehouse."""
    lines = [["create", [{
        "type": "line",
        "product": products[line.sku][0],
        "unit": products[line.sku][1],
        "quantity": float(line.quantity),
        "unit_price": line.unit_price,
    } for line in order.lines]]]
    values: dict[str, Any] = {
        "party": party_id,
        "reference": order.reference,
        "comment": channel_comment(order.channel),
        "warehouse": warehouse_id,
        "currency": currency_id,
        "invoice_address": address_id,
        "shipment_address": address_id,
        "lines": lines,
    }
    if price_list is not None:
        values["price_list"] = price_list
    return values


def order_state(state: str, shipment_state: str) -> OrderState:
    """Tryton's sale state and shipment state as one state."""
    if state in ("draft", "quotation"):
        return OrderState.DRAFT
    if state == "cancelled":
        return OrderState.CANCELLED
    if shipment_state == "sent":
        return OrderState.SHIPPED
    if shipment_state == "partially shipped":
        return OrderState.PARTIALLY_SHIPPED
    if state == "confirmed":
        return OrderState.CONFIRMED
    return OrderState.PROCESSING


def order(sale: dict[str, Any], lines: Any, shipments: Any) -> Order:
    """An ``Order`` from a sale read with SALE_FIELDS, its lines and shipments."""
    comment = sale.get("comment") or ""
    channel = (comment[len(CHANNEL_PREFIX):].splitlines()[0]
               if comment.startswith(CHANNEL_PREFIX) else None)
    states = []
    for row in wire.rows(lines, "quantity", "unit_price"):
        if row.get("type", "line") != "line":
            continue
        product = row.get("product.") or {}
        unit = row.get("unit.") or {}
        states.append(OrderLineState(
            sku=str(product.get("code")) if isinstance(product, dict) else "",
            quantity=wire.qty(row["quantity"]),
            unit=str(unit.get("symbol")) if isinstance(unit, dict) else "unit",
            unit_price=row["unit_price"] if isinstance(row["unit_price"], Decimal)
            else Decimal(0),
        ))
    party = sale.get("party.") or {}
    currency = sale.get("currency.") or {}
    warehouse = sale.get("warehouse.") or {}
    total = sale.get("untaxed_amount")
    return Order(
        id=str(sale.get("number") or sale["id"]),
        reference=str(sale.get("reference") or ""),
        channel=channel,
        customer=str(party.get("code")),
        state=order_state(str(sale.get("state")), str(sale.get("shipment_state"))),
        warehouse=warehouse.get("code") if isinstance(warehouse, dict) else None,
        currency=str(currency.get("code")),
        lines=tuple(states),
        shipments=tuple(
            Shipment(id=str(row.get("number") or row["id"]), state=str(row.get("state")),
                     tracking_numbers=(row["reference"],) if row.get("reference") else ())
            for row in wire.rows(shipments, "id")
        ),
        total=total if isinstance(total, Decimal) else None,
    )
