"""The demo ERP's seeded, deterministic data and its pricing rules.

500 SKUs (``SKU-0001`` … ``SKU-0500``) over 3 warehouses, 50 customers
(``CUST-001`` … ``CUST-050``), 4 price lists with quantity breaks, and
customer-specific contract prices. Everything derives from one seed, so every
process (in-process connector, ``erp-gateway demo-erp``) computes the same numbers.

The awkward cases a real catalog has: every tenth SKU is sold per dozen and stocked
per unit (its prices are per dozen); customers ``CUST-004``, ``CUST-011`` … (every
seventh from the fourth) are billed in EUR at ``EUR_PER_USD``; the ``CONSUMER`` list
carries gross prices (``VAT_RATE`` included), so its lines are ``tax_included``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from gateway.erp.base import Availability, PriceQuote, WarehouseStock

SEED = 20261123
WAREHOUSES = ("WH-EAST", "WH-CENTRAL", "WH-WEST")
CURRENCY = "USD"
CENT = Decimal("0.01")
EUR_PER_USD = Decimal("0.9")
VAT_RATE = Decimal("0.20")
DOZEN = "dozen"


@dataclass(frozen=True, slots=True)
class PriceList:
    name: str
    factor: Decimal
    # (minimum quantity, factor applied to the list price), highest minimum first
    breaks: tuple[tuple[Decimal, Decimal], ...]
    # the list's prices include VAT (the order line carries the gross price)
    tax_included: bool = False

    def factor_for(self, quantity: Decimal) -> Decimal:
        for minimum, factor in self.breaks:
            if quantity >= minimum:
                return factor
        return self.factor


PRICE_LISTS = {
    "RETAIL": PriceList("RETAIL", Decimal("1.00"),
                        ((Decimal(50), Decimal("0.90")), (Decimal(10), Decimal("0.95")))),
    "WHOLESALE": PriceList("WHOLESALE", Decimal("0.85"),
                           ((Decimal(100), Decimal("0.75")), (Decimal(10), Decimal("0.80")))),
    "DISTRIBUTOR": PriceList("DISTRIBUTOR", Decimal("0.75"),
                             ((Decimal(50), Decimal("0.70")),)),
    "CONSUMER": PriceList("CONSUMER", Decimal("1.00") + VAT_RATE, (), tax_included=True),
}


@dataclass(frozen=True, slots=True)
class Customer:
    code: str
    price_list: str
    # contract unit prices by SKU: they win over the price list at any quantity
    contracts: dict[str, Decimal]
    currency: str = CURRENCY


class DemoCatalog:
    def __init__(self, seed: int = SEED) -> None:
        rng = random.Random(seed)
        # per sale unit (a dozen for the SKUs in ``units``), in USD
        self.list_prices: dict[str, Decimal] = {}
        self.stock: dict[str, Availability] = {}
        # sale unit of the SKUs not sold per unit
        self.units: dict[str, str] = {}
        # receipts are days ahead of the day the process started; quantities never vary
        today = date.today()
        for i in range(1, 501):
            sku = f"SKU-{i:04d}"
            self.list_prices[sku] = (Decimal(rng.randint(199, 49_999)) / 100).quantize(CENT)
            if i % 10 == 0:
                self.units[sku] = DOZEN
            levels = []
            for wh in WAREHOUSES:
                on_hand = Decimal(rng.choice((0, 0, 5, 12, 40, 75, 150, 400, 1200)))
                reserved = Decimal(rng.randint(0, int(on_hand) // 4)) if on_hand else Decimal(0)
                receipt = rng.random() < 0.3
                receipt_day = today + timedelta(days=rng.randint(2, 30)) if receipt else None
                receipt_qty = Decimal(rng.choice((24, 48, 100, 500))) if receipt else None
                levels.append(WarehouseStock(
                    warehouse=wh,
                    on_hand=on_hand,
                    available=on_hand - reserved,
                    next_receipt_date=receipt_day,
                    next_receipt_quantity=receipt_qty,
                ))
            self.stock[sku] = Availability(sku=sku, warehouses=tuple(levels))
        names = ("RETAIL", "WHOLESALE", "DISTRIBUTOR")
        skus = tuple(self.list_prices)
        self.customers: dict[str, Customer] = {}
        for c in range(1, 51):
            code = f"CUST-{c:03d}"
            contracts: dict[str, Decimal] = {}
            if c % 5 == 1:  # every fifth customer negotiated prices on 25 SKUs, SKU-0001 included
                for sku in ("SKU-0001", *rng.sample(skus, 24)):
                    contracts[sku] = (self.list_prices[sku] * Decimal("0.62")).quantize(
                        CENT, ROUND_HALF_UP)
            plist = "CONSUMER" if c % 10 == 9 else names[(c - 1) % 3]
            currency = "EUR" if c % 7 == 4 else CURRENCY
            self.customers[code] = Customer(code, plist, contracts, currency)

    def availability(self, skus: list[str] | tuple[str, ...]) -> dict[str, Availability]:
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def sale_unit(self, sku: str) -> tuple[str, Decimal]:
        """The unit a SKU is sold in and how many stock units it holds."""
        unit = self.units.get(sku)
        return (unit, Decimal(12)) if unit == DOZEN else ("unit", Decimal(1))

    def price(self, customer: Customer, sku: str, quantity: Decimal) -> PriceQuote | None:
        list_usd = self.list_prices.get(sku)
        if list_usd is None:
            return None
        rate = EUR_PER_USD if customer.currency == "EUR" else Decimal(1)
        tax_included = False
        if sku in customer.contracts:
            unit_usd, applied = customer.contracts[sku], f"CONTRACT-{customer.code}"
        else:
            plist = PRICE_LISTS[customer.price_list]
            unit_usd, applied = list_usd * plist.factor_for(quantity), plist.name
            tax_included = plist.tax_included
        unit, stock_units = self.sale_unit(sku)
        return PriceQuote(
            sku=sku, customer=customer.code, quantity=quantity,
            unit_price=(unit_usd * rate).quantize(CENT, ROUND_HALF_UP),
            currency=customer.currency, price_list=applied,
            list_price=(list_usd * rate).quantize(CENT, ROUND_HALF_UP),
            tax_included=tax_included, unit=unit, stock_units=stock_units)


_catalog: DemoCatalog | None = None


def catalog() -> DemoCatalog:
    """The process-wide catalog (built once: about 10 ms)."""
    global _catalog
    if _catalog is None:
        _catalog = DemoCatalog()
    return _catalog
