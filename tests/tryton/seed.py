"""Seed a fresh Tryton database through proteus: the data the connector tests read.

Runs in the test process before trytond is started (Tryton caches are per
process, so the server must only see the finished data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# codes the tests use; everything else is looked up in Tryton
WAREHOUSES = ("WH", "WH2")
SKUS = ("SKU-001", "SKU-002", "SKU-003", "SKU-004")
CONTRACT_CUSTOMER = "C-ACME"
# has no list of its own: a sale uses the sale configuration's default list
PLAIN_CUSTOMER = "C-WALKIN"
PRICE_LIST_NAME = "ACME contract"
DEFAULT_LIST_NAME = "Default 5% off"
# billed in EUR by a USD company
EURO_CUSTOMER = "C-EURO"
# on a tax-included list (gross prices; the sale line carries the net price)
GROSS_CUSTOMER = "C-SHOP"
# on a cost-based list: products without a list price still get a price
COST_CUSTOMER = "C-COST"
TAXED_SKU = "SKU-TAX"  # 20 % customer tax through its accounting category
DOZEN_SKU = "EGG-12"  # sold per dozen, stocked per unit
NO_LIST_PRICE_SKU = "SKU-NOLIST"  # no list price, a cost price
SPACED_SKU = "HOSE 1/2"
LAST_UNIT_SKU = "SKU-LAST"  # one unit in WH storage
ORDER_SKU = "SKU-ORD"  # 50 units in WH storage, for orders
AWKWARD_SKUS = (TAXED_SKU, DOZEN_SKU, NO_LIST_PRICE_SKU, SPACED_SKU, LAST_UNIT_SKU, ORDER_SKU)


@dataclass
class Seeded:
    """Ids of what was created, for the tests' own proteus look-ups."""

    warehouses: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    price_list: int = 0
    today: dt.date = field(default_factory=dt.date.today)


def seed(config: Any) -> Seeded:
    """Create company, second warehouse, products, stock moves, price list and customers."""
    from proteus import Model, Wizard

    today = dt.date.today()
    out = Seeded(today=today)

    Currency = Model.get("currency.currency")
    CurrencyRate = Model.get("currency.currency.rate")
    usd = Currency(name="U.S. Dollar", symbol="$", code="USD", rounding=Decimal("0.01"))
    usd.save()
    CurrencyRate(date=dt.date(2000, 1, 1), rate=Decimal(1), currency=usd).save()

    Party = Model.get("party.party")
    company_party = Party(name="Gateway Distribution Ltd")
    company_party.save()
    wizard = Wizard("company.company.config")
    wizard.execute("company")
    wizard.form.party = company_party
    wizard.form.currency = usd
    wizard.execute("add")
    User = Model.get("res.user")
    config._context = User.get_preferences(True, {})

    Location = Model.get("stock.location")
    wh, = Location.find([("code", "=", "WH")])
    supplier, = Location.find([("code", "=", "SUP")])
    customer_loc, = Location.find([("code", "=", "CUS")])
    wh2_locations = {}
    for code, name in (("IN2", "Input 2"), ("OUT2", "Output 2"), ("STO2", "Storage 2")):
        loc = Location(name=name, code=code, type="storage")
        loc.save()
        wh2_locations[code] = loc
    wh2 = Location(name="Warehouse 2", code="WH2", type="warehouse")
    wh2.input_location = wh2_locations["IN2"]
    wh2.output_location = wh2_locations["OUT2"]
    wh2.storage_location = wh2_locations["STO2"]
    wh2.save()
    out.warehouses = {"WH": wh.id, "WH2": wh2.id}

    Uom = Model.get("product.uom")
    unit, = Uom.find([("name", "=", "Unit")])
    Template = Model.get("product.template")
    list_prices = {
        "SKU-001": Decimal("20.0000"),
        "SKU-002": Decimal("35.5000"),
        "SKU-003": Decimal("12.2500"),
        "SKU-004": Decimal("99.9900"),
    }
    products = {}
    for sku, price in list_prices.items():
        template = Template(name=f"Product {sku}", type="goods", default_uom=unit)
        template.salable = True
        template.sale_uom = unit
        template.list_price = price
        product = template.products[0]
        product.suffix_code = sku
        template.save()
        products[sku] = template.products[0]
    out.products = {sku: p.id for sku, p in products.items()}

    Move = Model.get("stock.move")

    def move(sku: str, src: Any, dst: Any, qty: int, **values: Any) -> Any:
        m = Move(product=products[sku], from_location=src, to_location=dst, unit=unit)
        m.quantity = qty
        m.unit_price = list_prices[sku] / 2
        m.currency = usd
        for name, value in values.items():
            setattr(m, name, value)
        return m

    yesterday = today - dt.timedelta(days=1)
    received = [
        move("SKU-001", supplier, wh.storage_location, 100, effective_date=yesterday),
        move("SKU-001", supplier, wh2.storage_location, 40, effective_date=yesterday),
        move("SKU-002", supplier, wh.storage_location, 25, effective_date=yesterday),
        # received but not yet put away: on hand, not in the storage zone
        move("SKU-002", supplier, wh.input_location, 5, effective_date=yesterday),
        move("SKU-003", supplier, wh.storage_location, 7, effective_date=yesterday),
        move("SKU-003", supplier, wh2.storage_location, 60, effective_date=yesterday),
    ]
    for m in received:
        m.save()
    Move.click(received, "do")

    # a planned delivery from WH2 storage: lowers the forecast, reserves nothing yet
    move(
        "SKU-003", wh2.storage_location, customer_loc, 55,
        planned_date=today + dt.timedelta(days=1),
    ).save()
    # planned receipts (purchases) into WH2 and WH
    for sku, dst, qty, days in (
        ("SKU-002", wh2.input_location, 50, 5),
        ("SKU-002", wh2.input_location, 10, 9),
        ("SKU-001", wh.input_location, 20, 3),
        ("SKU-001", wh.input_location, 4, 3),
    ):
        move(sku, supplier, dst, qty, planned_date=today + dt.timedelta(days=days)).save()

    Party = Model.get("party.party")
    acme = Party(name="ACME Retail", code=CONTRACT_CUSTOMER)
    acme.save()
    walkin = Party(name="Walk-in Shop", code=PLAIN_CUSTOMER)
    walkin.save()

    # a customer shipment picked from WH storage: its inventory move gets assigned
    Shipment = Model.get("stock.shipment.out")
    shipment = Shipment(customer=acme, warehouse=wh, planned_date=today)
    outgoing = shipment.outgoing_moves.new()
    outgoing.product = products["SKU-001"]
    outgoing.unit = unit
    outgoing.quantity = 30
    outgoing.from_location = wh.output_location
    outgoing.to_location = customer_loc
    outgoing.unit_price = list_prices["SKU-001"]
    outgoing.currency = usd
    shipment.save()
    shipment.click("wait")
    shipment.click("assign_try")

    PriceList = Model.get("product.price_list")
    price_list = PriceList(name=PRICE_LIST_NAME, price="list_price")
    bulk = price_list.lines.new()
    bulk.quantity = 10.0
    bulk.formula = "list_price * 0.7"
    base = price_list.lines.new()
    base.formula = "list_price * 0.8"
    price_list.save()
    out.price_list = price_list.id

    acme.sale_price_list = price_list
    acme.save()
    out.customers = {CONTRACT_CUSTOMER: acme.id, PLAIN_CUSTOMER: walkin.id}
    _seed_awkward(out, config, wh, supplier, unit, usd)
    return out


def _seed_awkward(out: Seeded, config: Any, wh: Any, supplier: Any, unit: Any,
                  usd: Any) -> None:
    """The cases real catalogs have: another currency, a tax-included list, a default
    list, a product sold per dozen, one without list price, a code with a space and a
    slash; and a country for ship-to addresses."""
    from proteus import Model
    from trytond.modules.account.tests.tools import create_chart, create_tax, get_accounts

    Currency = Model.get("currency.currency")
    CurrencyRate = Model.get("currency.currency.rate")
    eur = Currency(name="Euro", symbol="€", code="EUR", rounding=Decimal("0.01"))
    eur.save()
    CurrencyRate(date=dt.date(2000, 1, 1), rate=Decimal("0.9"), currency=eur).save()
    Country = Model.get("country.country")
    Country(name="United States", code="US").save()

    Company = Model.get("company.company")
    company, = Company.find()
    create_chart(company)
    accounts = get_accounts(company)
    tax = create_tax(Decimal("0.20"))
    tax.save()
    Category = Model.get("product.category")
    taxed = Category(name="Taxed goods", accounting=True)
    taxed.account_revenue = accounts["revenue"]
    taxed.customer_taxes.append(tax)
    taxed.save()

    Uom = Model.get("product.uom")
    dozen = Uom(name="Dozen", symbol="dz", category=unit.category, digits=0,
                rounding=Decimal(1))
    dozen.factor = 12.0
    dozen.save()

    Template = Model.get("product.template")
    made: dict[str, Any] = {}
    for sku, list_price, sale_uom, category in (
        (TAXED_SKU, Decimal("24.9000"), unit, taxed),
        (DOZEN_SKU, Decimal("0.3000"), dozen, None),
        (NO_LIST_PRICE_SKU, None, unit, None),
        (SPACED_SKU, Decimal("7.4500"), unit, None),
        (LAST_UNIT_SKU, Decimal("50.0000"), unit, None),
        (ORDER_SKU, Decimal("10.0000"), unit, None),
    ):
        template = Template(name=f"Product {sku}", type="goods", default_uom=unit)
        template.salable = True
        template.sale_uom = sale_uom
        template.list_price = list_price
        if category is not None:
            template.account_category = category
        product = template.products[0]
        product.suffix_code = sku
        product.cost_price = Decimal("10.0000")
        template.save()
        made[sku] = template.products[0]
    out.products.update({sku: p.id for sku, p in made.items()})

    Move = Model.get("stock.move")
    moves = []
    for sku, qty in ((DOZEN_SKU, 120), (SPACED_SKU, 8), (LAST_UNIT_SKU, 1), (ORDER_SKU, 50),
                     (TAXED_SKU, 5)):
        m = Move(product=made[sku], from_location=supplier, to_location=wh.storage_location,
                 unit=unit, effective_date=out.today - dt.timedelta(days=1))
        m.quantity = qty
        m.unit_price = Decimal("1.0000")
        m.currency = usd
        moves.append(m)
    for m in moves:
        m.save()
    Move.click(moves, "do")

    PriceList = Model.get("product.price_list")
    default = PriceList(name=DEFAULT_LIST_NAME, price="list_price")
    default.lines.new().formula = "list_price * 0.95"
    default.save()
    gross = PriceList(name="Shop incl. VAT", price="list_price", tax_included=True)
    gross.lines.new().formula = "list_price * 1.2"
    gross.save()
    cost = PriceList(name="Cost plus 50", price="cost_price")
    cost.lines.new().formula = "unit_price * 1.5"
    cost.save()

    Party = Model.get("party.party")
    Configuration = Model.get("sale.configuration")
    customers = {}
    for code, name, plist, currency in (
        (EURO_CUSTOMER, "Euro Retail SA", None, eur),
        (GROSS_CUSTOMER, "Corner Shop", gross, None),
        (COST_CUSTOMER, "Cost Partner", cost, None),
    ):
        party = Party(name=name, code=code)
        party.sale_price_list = plist
        if currency is not None:
            party.customer_currency = currency
        party.save()
        customers[code] = party.id
    out.customers.update(customers)
    sale_config = Configuration(1)
    sale_config.sale_price_list = default
    # invoices are not this tier's business: no revenue accounts needed on confirmation
    sale_config.sale_invoice_method = "manual"
    sale_config.save()
