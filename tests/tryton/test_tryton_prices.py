"""Prices on awkward cases equal the unit price Tryton's own draft sale line proposes.

Each expected value comes from ``sale.line`` on-changes run by Tryton through proteus
(party → currency and price list, product → taxes, unit and unit price), never from the
connector's logic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gateway.erp.base import PriceItem, PriceQuote, PriceUnavailable
from gateway.erp.tryton import TrytonConnector
from tests.tryton.conftest import RecordingTransport, TrytonServer
from tests.tryton.seed import (
    AWKWARD_SKUS,
    CONTRACT_CUSTOMER,
    COST_CUSTOMER,
    DEFAULT_LIST_NAME,
    DOZEN_SKU,
    EURO_CUSTOMER,
    GROSS_CUSTOMER,
    NO_LIST_PRICE_SKU,
    PLAIN_CUSTOMER,
    SKUS,
    SPACED_SKU,
    TAXED_SKU,
)

pytestmark = pytest.mark.tryton

CUSTOMERS = (CONTRACT_CUSTOMER, PLAIN_CUSTOMER, EURO_CUSTOMER, GROSS_CUSTOMER, COST_CUSTOMER)


def sale_line(server: TrytonServer, customer: str, sku: str, quantity: int) -> Any:
    """(unit price, currency code, unit symbol) of a draft sale line; nothing is saved."""
    from proteus import Model

    Sale = Model.get("sale.sale", config=server.proteus)
    Party = Model.get("party.party", config=server.proteus)
    Product = Model.get("product.product", config=server.proteus)
    sale = Sale()
    sale.party = Party(server.seeded.customers[customer])
    line = sale.lines.new()
    line.product = Product(server.seeded.products[sku])
    line.quantity = quantity
    return line.unit_price, sale.currency.code, line.unit.symbol


def quote_of(result: Any) -> PriceQuote:
    assert isinstance(result, PriceQuote), result
    return result


@pytest.mark.parametrize("customer", CUSTOMERS)
@pytest.mark.parametrize("quantity", [1, 10])
async def test_every_price_is_the_sale_line_price_in_its_currency_and_unit(
        connector: TrytonConnector, tryton_server: TrytonServer, customer: str,
        quantity: int) -> None:
    skus = [*SKUS, *AWKWARD_SKUS]
    quotes = await connector.prices(customer, [PriceItem(s, Decimal(quantity)) for s in skus])

    for sku in skus:
        unit_price, currency, unit = sale_line(tryton_server, customer, sku, quantity)
        found = quotes[sku]
        if unit_price is None:
            assert isinstance(found, PriceUnavailable), (customer, sku)
            continue
        quote = quote_of(found)
        assert (quote.unit_price, quote.currency, quote.unit) == (unit_price, currency, unit), (
            customer, sku)
        assert quote.tax_included is False  # Tryton's line prices are net of tax


async def test_a_eur_customer_of_a_usd_company_is_quoted_in_eur(
        connector: TrytonConnector) -> None:
    euro, usd = await connector.prices(EURO_CUSTOMER, [PriceItem("SKU-001", Decimal(1))]), \
        await connector.prices(PLAIN_CUSTOMER, [PriceItem("SKU-001", Decimal(1))])

    assert quote_of(euro["SKU-001"]).currency == "EUR"
    assert quote_of(usd["SKU-001"]).currency == "USD"
    # same default list, 0.9 EUR per USD
    assert quote_of(euro["SKU-001"]).unit_price == quote_of(usd["SKU-001"]).unit_price * \
        Decimal("0.9")
    assert quote_of(euro["SKU-001"]).list_price == Decimal("18.0000")


async def test_a_tax_included_list_gives_the_net_line_price(
        connector: TrytonConnector) -> None:
    quote = quote_of((await connector.prices(
        GROSS_CUSTOMER, [PriceItem(TAXED_SKU, Decimal(1))]))[TAXED_SKU])

    # the list says 24.90 * 1.2 = 29.88 with tax; the line carries 24.90
    assert quote.unit_price == Decimal("24.9000")
    assert quote.tax_included is False


async def test_a_customer_without_a_list_gets_the_configured_default(
        connector: TrytonConnector) -> None:
    quote = quote_of((await connector.prices(
        PLAIN_CUSTOMER, [PriceItem("SKU-001", Decimal(1))]))["SKU-001"])

    assert quote.price_list == DEFAULT_LIST_NAME
    assert quote.unit_price == Decimal("19.0000")  # 20 * 0.95


async def test_a_dozen_is_priced_per_dozen_with_its_list_price_per_dozen(
        connector: TrytonConnector) -> None:
    quote = quote_of((await connector.prices(
        CONTRACT_CUSTOMER, [PriceItem(DOZEN_SKU, Decimal(2))]))[DOZEN_SKU])
    stock = (await connector.availability([DOZEN_SKU]))[DOZEN_SKU]

    assert (quote.unit, quote.stock_units) == ("dz", Decimal(12))
    assert quote.list_price == Decimal("3.6000")  # 0.30 per unit
    # 2 dozen are 24 units: the list's break from 10 (units) applies, 3.60 * 0.7
    assert quote.unit_price == Decimal("2.5200")
    assert stock.unit == "u"
    assert {w.warehouse: w.on_hand for w in stock.warehouses}["WH"] == 120


async def test_a_product_without_list_price_fails_only_itself(
        connector: TrytonConnector) -> None:
    items = [PriceItem(sku, Decimal(1)) for sku in (*SKUS, *AWKWARD_SKUS)]
    on_list = await connector.prices(CONTRACT_CUSTOMER, items)
    on_cost = await connector.prices(COST_CUSTOMER, items)

    assert isinstance(on_list[NO_LIST_PRICE_SKU], PriceUnavailable)
    assert all(isinstance(on_list[i.sku], PriceQuote) for i in items
               if i.sku != NO_LIST_PRICE_SKU)
    cost_quote = quote_of(on_cost[NO_LIST_PRICE_SKU])
    assert cost_quote.list_price is None
    assert cost_quote.unit_price == Decimal("15.0000")  # cost 10 * 1.5


async def test_a_code_with_a_space_and_a_slash_is_priced_and_stocked(
        connector: TrytonConnector) -> None:
    quotes = await connector.prices(CONTRACT_CUSTOMER, [PriceItem(SPACED_SKU, Decimal(1))])
    stock = await connector.availability([SPACED_SKU])

    assert quote_of(quotes[SPACED_SKU]).unit_price == Decimal("5.9600")  # 7.45 * 0.8
    assert stock[SPACED_SKU].total_available == 8


async def test_prices_cost_the_same_rpcs_for_one_sku_or_many(
        connector: TrytonConnector, recorder: RecordingTransport) -> None:
    await connector.prices(CONTRACT_CUSTOMER, [PriceItem("SKU-001", Decimal(1))])
    recorder.methods.clear()
    await connector.prices(CONTRACT_CUSTOMER, [PriceItem("SKU-001", Decimal(1))])
    one = list(recorder.methods)
    recorder.methods.clear()
    await connector.prices(CONTRACT_CUSTOMER,
                           [PriceItem(sku, Decimal(1)) for sku in (*SKUS, *AWKWARD_SKUS)])

    assert recorder.methods == one
    assert len(one) == 3  # the party, the products, the prices
