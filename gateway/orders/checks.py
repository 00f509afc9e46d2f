"""The order checks against the ERP's fresh answers: pure functions, no I/O.

Quantities on order lines are in the SKU's sale unit; stock is counted in its stock unit
(``PriceQuote.stock_units`` converts: a dozen is 12 units).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gateway.erp.base import Availability, PriceQuote
from gateway.orders.models import OrderLineRequest


@dataclass(frozen=True, slots=True)
class Shortfall:
    line: int
    sku: str
    requested: Decimal  # in the sale unit
    available: Decimal  # in the sale unit, in the chosen warehouse
    unit: str
    warehouse: str

    def problem_entry(self) -> dict[str, Any]:
        return {"line": self.line, "pointer": f"#/lines/{self.line}", "sku": self.sku,
                "requested": _text(self.requested), "available": _text(self.available),
                "unit": self.unit, "warehouse": self.warehouse}


@dataclass(frozen=True, slots=True)
class PriceDifference:
    line: int
    sku: str
    expected: Decimal
    erp: Decimal
    currency: str

    def problem_entry(self) -> dict[str, Any]:
        return {"line": self.line, "pointer": f"#/lines/{self.line}", "sku": self.sku,
                "expected_unit_price": _text(self.expected),
                "erp_unit_price": _text(self.erp), "currency": self.currency}


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def stock_needed(lines: Sequence[OrderLineRequest],
                 quotes: Mapping[str, PriceQuote]) -> dict[str, Decimal]:
    """Stock units each SKU of the order takes (lines of one SKU add up)."""
    needed: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        needed[line.sku] += line.quantity * quotes[line.sku].stock_units
    return needed


def available_in(stock: Mapping[str, Availability], sku: str, warehouse: str) -> Decimal:
    found = stock.get(sku)
    if found is None:
        return Decimal(0)
    return next((w.available for w in found.warehouses if w.warehouse == warehouse),
                Decimal(0))


def choose_warehouse(wanted: str, warehouses: Sequence[str], needed: Mapping[str, Decimal],
                     stock: Mapping[str, Availability]) -> str:
    """The warehouse asked for, or for "any" the first (in the ERP's order) that covers
    every SKU, else the one that covers most of them (its shortfalls are reported)."""
    if wanted != "any":
        return wanted

    def covered(warehouse: str) -> int:
        return sum(available_in(stock, sku, warehouse) >= qty for sku, qty in needed.items())

    return max(warehouses, key=lambda w: (covered(w), -warehouses.index(w)))


def shortfalls(lines: Sequence[OrderLineRequest], warehouse: str,
               needed: Mapping[str, Decimal], stock: Mapping[str, Availability],
               quotes: Mapping[str, PriceQuote]) -> list[Shortfall]:
    """Every line whose SKU the warehouse cannot cover, with what it has (sale unit)."""
    out = []
    for index, line in enumerate(lines):
        have = available_in(stock, line.sku, warehouse)
        if needed[line.sku] > have:
            quote = quotes[line.sku]
            out.append(Shortfall(index, line.sku, line.quantity, have / quote.stock_units,
                                 quote.unit, warehouse))
    return out


def price_differences(lines: Sequence[OrderLineRequest], quotes: Mapping[str, PriceQuote],
                      tolerance: Decimal) -> list[PriceDifference]:
    """Lines whose expected unit price is further than ``tolerance`` from the ERP's."""
    out = []
    for index, line in enumerate(lines):
        quote = quotes[line.sku]
        if line.unit_price is not None and abs(line.unit_price - quote.unit_price) > tolerance:
            out.append(PriceDifference(index, line.sku, line.unit_price, quote.unit_price,
                                       quote.currency))
    return out
