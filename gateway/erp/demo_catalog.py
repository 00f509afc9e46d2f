"""The demo ERP's seeded, deterministic data and its pricing rules.

500 SKUs (``SKU-0001`` … ``SKU-0500``) over 3 warehouses, 50 customers
(``CUST-001`` … ``CUST-050``), 3 price lists with quantity breaks, and
customer-specific contract prices. Everything derives from one seed, so every
process (in-process connector, ``erp-gateway demo-erp``) computes the same numbers.
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


@dataclass(frozen=True, slots=True)
class PriceList:
    name: str
    factor: Decimal
    # (minimum quantity, factor applied to the list price), highest minimum first
    breaks: tuple[tuple[Decimal, Decimal], ...]

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
}


@dataclass(frozen=True, slots=True)
class Customer:
    code: str
    price_list: str
    # contract unit prices by SKU: they win over the price list at any quantity
    contracts: dict[str, Decimal]


class DemoCatalog:
    def __init__(self, seed: int = SEED) -> None:
        rng = random.Random(seed)
        self.list_prices: dict[str, Decimal] = {}
        self.stock: dict[str, Availability] = {}
        # receipts are days ahead of the day the process started; quantities never vary
        today = date.today()
        for i in range(1, 501):
            sku = f"SKU-{i:04d}"
            self.list_prices[sku] = (Decimal(rng.randint(199, 49_999)) / 100).quantize(CENT)
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
        names = tuple(PRICE_LISTS)
        skus = tuple(self.list_prices)
        self.customers: dict[str, Customer] = {}
        for c in range(1, 51):
            code = f"CUST-{c:03d}"
            contracts: dict[str, Decimal] = {}
            if c % 5 == 1:  # every fifth customer negotiated prices on 25 SKUs, SKU-0001 included
                for sku in ("SKU-0001", *rng.sample(skus, 24)):
                    contracts[sku] = (self.list_prices[sku] * Decimal("0.62")).quantize(
                        CENT, ROUND_HALF_UP)
            self.customers[code] = Customer(code, names[(c - 1) % 3], contracts)

    def availability(self, skus: list[str] | tuple[str, ...]) -> dict[str, Availability]:
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def price(self, customer: Customer, sku: str, quantity: Decimal) -> PriceQuote | None:
        list_price = self.list_prices.get(sku)
        if list_price is None:
            return None
        if sku in customer.contracts:
            unit, applied = customer.contracts[sku], f"CONTRACT-{customer.code}"
        else:
            plist = PRICE_LISTS[customer.price_list]
            unit = (list_price * plist.factor_for(quantity)).quantize(CENT, ROUND_HALF_UP)
            applied = plist.name
        return PriceQuote(sku=sku, customer=customer.code, quantity=quantity, unit_price=unit,
                          currency=CURRENCY, price_list=applied, list_price=list_price)


_catalog: DemoCatalog | None = None


def catalog() -> DemoCatalog:
    """The process-wide catalog (built once: about 10 ms)."""
    global _catalog
    if _catalog is None:
        _catalog = DemoCatalog()
    return _catalog
