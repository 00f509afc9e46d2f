"""The demo ERP's sales orders: kept in memory, committed against the demo stock.

A confirmed order commits its quantities in its warehouse (available-to-promise drops by
them; on hand stays until it ships); a cancelled one releases them. Like a real ERP it
refuses to confirm an order its warehouse cannot cover. Each book is its own state, so a
fresh connector starts from the seeded stock.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from gateway.erp.base import (
    Availability,
    NewOrder,
    Order,
    OrderLineState,
    OrderNotFound,
    OrderRefused,
    OrderState,
    UnknownCustomer,
)
from gateway.erp.demo.catalog import WAREHOUSES, DemoCatalog


class DemoOrderBook:
    def __init__(self, data: DemoCatalog, *, refuse_oversell: bool = True) -> None:
        self.data = data
        # False: confirm whatever is sent, as Tryton does (its sale line does not check stock)
        self.refuse_oversell = refuse_oversell
        self.orders: dict[str, Order] = {}
        # (sku, warehouse) -> stock units committed to confirmed orders
        self.committed: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self._numbers = itertools.count(1)

    def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        found = self.data.availability(tuple(skus))
        if not self.committed:
            return found
        return {sku: replace(a, warehouses=tuple(
            replace(w, available=w.available - self.committed.get((sku, w.warehouse), Decimal(0)))
            for w in a.warehouses)) for sku, a in found.items()}

    def create(self, order: NewOrder) -> Order:
        customer = self.data.customers.get(order.customer)
        if customer is None:
            raise UnknownCustomer(order.customer)
        if order.warehouse not in WAREHOUSES:
            raise OrderRefused(f"the demo ERP has no warehouse {order.warehouse!r}")
        needed: defaultdict[str, Decimal] = defaultdict(Decimal)
        lines = []
        for line in order.lines:
            if line.sku not in self.data.list_prices:
                raise OrderRefused(f"the demo ERP does not know {line.sku}")
            unit, stock_units = self.data.sale_unit(line.sku)
            needed[line.sku] += line.quantity * stock_units
            lines.append(OrderLineState(line.sku, line.quantity, unit, line.unit_price))
        stock = self.availability(list(needed))
        for sku, quantity in needed.items():
            here = {w.warehouse: w.available for w in stock[sku].warehouses}[order.warehouse]
            if self.refuse_oversell and quantity > here:
                raise OrderRefused(f"{order.warehouse} has {here} of {sku}, not {quantity}")
        for sku, quantity in needed.items():
            self.committed[(sku, order.warehouse)] += quantity
        number = f"SO-{next(self._numbers):05d}"
        created = Order(
            id=number, reference=order.reference, channel=order.channel,
            customer=order.customer, state=OrderState.CONFIRMED, warehouse=order.warehouse,
            currency=customer.currency, lines=tuple(lines),
            total=sum((line.quantity * line.unit_price for line in order.lines), Decimal(0)))
        self.orders[number] = created
        return created

    def find(self, customer: str, reference: str) -> Order | None:
        return next((o for o in self.orders.values()
                     if o.customer == customer and o.reference == reference), None)

    def get(self, order_id: str) -> Order:
        found = self.orders.get(order_id)
        if found is None:
            raise OrderNotFound(order_id)
        return found

    def cancel(self, order_id: str) -> Order:
        order = self.get(order_id)
        if order.state is OrderState.CANCELLED:
            return order
        if order.state is not OrderState.CONFIRMED:
            raise OrderRefused(f"order {order_id} is {order.state.value} and cannot be "
                               "cancelled any more")
        assert order.warehouse is not None
        for line in order.lines:
            _, stock_units = self.data.sale_unit(line.sku)
            self.committed[(line.sku, order.warehouse)] -= line.quantity * stock_units
        cancelled = replace(order, state=OrderState.CANCELLED)
        self.orders[order_id] = cancelled
        return cancelled
