"""The Tryton connector against a real trytond (see conftest): stock, prices, sessions.

Expected values are computed by Tryton itself through proteus in this process,
not by re-running the connector's logic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from gateway.erp.base import (
    ErpBadResponse,
    ErpConnector,
    ErpUnavailable,
    PriceItem,
    PriceQuote,
    UnknownCustomer,
)
from gateway.erp.tryton import TrytonConnector
from tests.tryton.conftest import RecordingTransport, TrytonServer
from tests.tryton.seed import (
    CONTRACT_CUSTOMER,
    DEFAULT_LIST_NAME,
    PLAIN_CUSTOMER,
    PRICE_LIST_NAME,
    SKUS,
    WAREHOUSES,
)

pytestmark = pytest.mark.tryton


def _model(server: TrytonServer, name: str) -> Any:
    from proteus import Model

    return Model.get(name, config=server.proteus)


def _tryton_quantity(server: TrytonServer, sku: str, field: str, **context: Any) -> Decimal:
    Product = _model(server, "product.product")
    with server.proteus.set_context(**context):
        value = getattr(Product(server.seeded.products[sku]), field)
    return Decimal(repr(value))


def _expected_stock(server: TrytonServer, sku: str, warehouse: str) -> tuple[Decimal, Decimal]:
    """(on hand in the warehouse, free stock of its storage zone capped by its forecast)."""
    Location = _model(server, "stock.location")
    wh = Location(server.seeded.warehouses[warehouse])
    storage = wh.storage_location.id
    on_hand = _tryton_quantity(server, sku, "quantity", locations=[wh.id])
    free = _tryton_quantity(server, sku, "quantity", locations=[storage], stock_assign=True)
    forecast = _tryton_quantity(server, sku, "forecast_quantity", locations=[storage])
    return on_hand, max(min(free, forecast), Decimal(0))


def _draft_sale_line_price(server: TrytonServer, customer: str, sku: str, quantity: int) -> Any:
    """The unit price Tryton's own sale line proposes (nothing is saved)."""
    Sale = _model(server, "sale.sale")
    Party = _model(server, "party.party")
    Product = _model(server, "product.product")
    sale = Sale()
    sale.party = Party(server.seeded.customers[customer])
    line = sale.lines.new()
    line.product = Product(server.seeded.products[sku])
    line.quantity = quantity
    return line.unit_price


def _list_price(server: TrytonServer, sku: str) -> Decimal:
    Product = _model(server, "product.product")
    return Decimal(Product(server.seeded.products[sku]).list_price_used)


async def test_connector_satisfies_the_protocol(connector: TrytonConnector) -> None:
    assert isinstance(connector, ErpConnector)
    await connector.health()


async def test_stock_per_warehouse_equals_what_tryton_computes(
    connector: TrytonConnector, tryton_server: TrytonServer
) -> None:
    result = await connector.availability(list(SKUS))

    assert set(result) == set(SKUS)
    for sku in SKUS:
        assert [w.warehouse for w in result[sku].warehouses] == sorted(WAREHOUSES)
        for stock in result[sku].warehouses:
            on_hand, available = _expected_stock(tryton_server, sku, stock.warehouse)
            assert (stock.on_hand, stock.available) == (on_hand, available), (sku, stock)


async def test_available_excludes_reservations_pending_deliveries_and_unstored_receipts(
    connector: TrytonConnector,
) -> None:
    result = await connector.availability(["SKU-001", "SKU-002", "SKU-003"])

    def stock(sku: str, warehouse: str) -> tuple[Decimal, Decimal]:
        found = {w.warehouse: w for w in result[sku].warehouses}[warehouse]
        return found.on_hand, found.available

    # seeded scenario: 30 of 100 assigned to a customer shipment
    assert stock("SKU-001", "WH") == (Decimal(100), Decimal(70))
    # 5 received into the input zone, not yet in storage
    assert stock("SKU-002", "WH") == (Decimal(30), Decimal(25))
    # a draft delivery of 55 planned for tomorrow
    assert stock("SKU-003", "WH2") == (Decimal(60), Decimal(5))
    assert result["SKU-001"].total_available == 70 + 40


async def test_next_receipt_is_the_earliest_planned_supplier_delivery(
    connector: TrytonConnector, tryton_server: TrytonServer
) -> None:
    Move = _model(tryton_server, "stock.move")
    result = await connector.availability(list(SKUS))

    for sku in SKUS:
        for stock in result[sku].warehouses:
            wh = tryton_server.seeded.warehouses[stock.warehouse]
            planned = Move.find([
                ("product", "=", tryton_server.seeded.products[sku]),
                ("from_location.type", "=", "supplier"),
                ("state", "=", "draft"),
                ("to_location", "child_of", [wh], "parent"),
            ])
            if not planned:
                assert stock.next_receipt_date is None and stock.next_receipt_quantity is None
                continue
            first = min(m.planned_date for m in planned)
            due = sum(Decimal(repr(m.quantity)) for m in planned if m.planned_date == first)
            assert (stock.next_receipt_date, stock.next_receipt_quantity) == (first, due)

    today = tryton_server.seeded.today
    wh2 = {w.warehouse: w for w in result["SKU-002"].warehouses}["WH2"]
    assert wh2.next_receipt_date == today + dt.timedelta(days=5)
    assert wh2.next_receipt_quantity == 50


async def test_unknown_skus_are_absent(connector: TrytonConnector) -> None:
    result = await connector.availability(["SKU-003", "SKU-DOES-NOT-EXIST"])

    assert list(result) == ["SKU-003"]
    assert await connector.availability(["SKU-DOES-NOT-EXIST"]) == {}


async def test_availability_costs_the_same_rpcs_for_one_sku_or_many(
    connector: TrytonConnector, recorder: RecordingTransport
) -> None:
    await connector.health()  # login and warehouse discovery out of the way
    recorder.methods.clear()
    await connector.availability(["SKU-001"])
    one = list(recorder.methods)
    recorder.methods.clear()
    await connector.availability([*SKUS, "SKU-X1", "SKU-X2"])

    assert recorder.methods == one
    # per warehouse: on hand, free stock; once for all: planned receipts
    assert len(one) == 2 * len(WAREHOUSES) + 1


async def test_concurrent_stock_reads_share_one_batch_of_rpcs(
    connector: TrytonConnector, recorder: RecordingTransport
) -> None:
    await connector.health()
    recorder.methods.clear()
    results = await asyncio.gather(*(connector.availability([sku]) for sku in SKUS))

    assert [list(r) for r in results] == [[sku] for sku in SKUS]
    assert len(recorder.methods) == 2 * len(WAREHOUSES) + 1


async def test_configured_warehouses_restrict_and_order_the_report(
    tryton_server: TrytonServer,
) -> None:
    client = TrytonConnector(tryton_server.config(warehouses=["WH2", "WH"]))
    only = TrytonConnector(tryton_server.config(warehouses=["WH2"]))
    try:
        both = await client.availability(["SKU-001"])
        one = await only.availability(["SKU-001"])
    finally:
        await client.aclose()
        await only.aclose()

    assert [w.warehouse for w in both["SKU-001"].warehouses] == ["WH2", "WH"]
    assert [w.warehouse for w in one["SKU-001"].warehouses] == ["WH2"]


async def test_a_configured_warehouse_tryton_lacks_fails_health(
    tryton_server: TrytonServer,
) -> None:
    client = TrytonConnector(tryton_server.config(warehouses=["WH", "NOWHERE"]))
    try:
        with pytest.raises(ErpBadResponse, match="NOWHERE"):
            await client.health()
    finally:
        await client.aclose()


async def test_contract_price_is_what_a_tryton_sale_line_proposes(
    connector: TrytonConnector, tryton_server: TrytonServer
) -> None:
    items = [PriceItem(sku, Decimal(1)) for sku in ("SKU-001", "SKU-002", "SKU-003")]
    quotes = await connector.prices(CONTRACT_CUSTOMER, items)

    assert set(quotes) == {"SKU-001", "SKU-002", "SKU-003"}
    for item in items:
        quote = quotes[item.sku]
        assert quote.unit_price == _draft_sale_line_price(
            tryton_server, CONTRACT_CUSTOMER, item.sku, 1
        )
        assert quote.list_price == _list_price(tryton_server, item.sku)
        assert quote.unit_price != quote.list_price
        assert (quote.customer, quote.quantity) == (CONTRACT_CUSTOMER, Decimal(1))
        assert (quote.currency, quote.price_list) == ("USD", PRICE_LIST_NAME)
    assert quotes["SKU-001"].unit_price == Decimal("16.0000")  # 20 * 0.8


async def test_quantity_break_applies_from_ten(
    connector: TrytonConnector, tryton_server: TrytonServer
) -> None:
    quotes = await connector.prices(
        CONTRACT_CUSTOMER, [PriceItem("SKU-001", Decimal(10)), PriceItem("SKU-002", Decimal(9))]
    )

    assert quotes["SKU-001"].unit_price == _draft_sale_line_price(
        tryton_server, CONTRACT_CUSTOMER, "SKU-001", 10
    )
    assert quotes["SKU-001"].unit_price == Decimal("14.0000")  # 20 * 0.7
    assert quotes["SKU-002"].unit_price == _draft_sale_line_price(
        tryton_server, CONTRACT_CUSTOMER, "SKU-002", 9
    )
    assert quotes["SKU-002"].unit_price == Decimal("28.4000")  # 35.5 * 0.8


async def test_customer_without_price_list_pays_the_configured_default_list(
    connector: TrytonConnector, tryton_server: TrytonServer
) -> None:
    quotes = await connector.prices(PLAIN_CUSTOMER, [PriceItem("SKU-003", Decimal(50))])

    quote = quotes["SKU-003"]
    assert isinstance(quote, PriceQuote)
    assert quote.price_list == DEFAULT_LIST_NAME
    assert quote.list_price == _list_price(tryton_server, "SKU-003")
    assert quote.unit_price == _draft_sale_line_price(
        tryton_server, PLAIN_CUSTOMER, "SKU-003", 50
    ) != quote.list_price


async def test_unknown_sku_is_absent_from_prices(connector: TrytonConnector) -> None:
    quotes = await connector.prices(
        CONTRACT_CUSTOMER, [PriceItem("SKU-NOPE", Decimal(1)), PriceItem("SKU-004", Decimal(1))]
    )

    assert list(quotes) == ["SKU-004"]


async def test_unknown_customer_raises(connector: TrytonConnector) -> None:
    with pytest.raises(UnknownCustomer) as caught:
        await connector.prices("C-NOBODY", [PriceItem("SKU-001", Decimal(1))])

    assert caught.value.customer == "C-NOBODY"


async def test_a_killed_session_is_replaced_transparently(
    connector: TrytonConnector, recorder: RecordingTransport, tryton_server: TrytonServer
) -> None:
    before = await connector.availability(["SKU-001"])
    session = recorder.authorizations[-1]
    assert session is not None
    async with httpx.AsyncClient(trust_env=False) as raw:
        logout = await raw.post(
            f"{tryton_server.url}/{tryton_server.database}/rpc/",
            json={"id": 1, "method": "common.db.logout", "params": []},
            headers={"Authorization": session},
        )
    assert logout.status_code == 200

    after = await connector.availability(["SKU-001"])

    assert after == before
    assert recorder.methods.count("common.db.login") == 2
    assert recorder.authorizations[-1] not in (None, session)


async def test_concurrent_first_calls_share_one_login(
    connector: TrytonConnector, recorder: RecordingTransport
) -> None:
    results = await asyncio.gather(
        *(connector.availability([sku]) for sku in SKUS),
        connector.prices(CONTRACT_CUSTOMER, [PriceItem("SKU-001", Decimal(1))]),
    )

    assert all(results)
    assert recorder.methods.count("common.db.login") == 1


async def test_wrong_credentials_are_unavailable_without_leaking_the_password(
    tryton_server: TrytonServer,
) -> None:
    wrong = "not-the-password-" + tryton_server.password[:4]
    # another login than admin: Tryton slows down logins that failed before
    client = TrytonConnector(tryton_server.config(username="nobody", password=wrong))
    try:
        with pytest.raises(ErpUnavailable) as caught:
            await client.health()
    finally:
        await client.aclose()

    assert "nobody" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value)


async def test_unknown_database_is_unavailable(tryton_server: TrytonServer) -> None:
    client = TrytonConnector(tryton_server.config(database="no_such_db"))
    try:
        with pytest.raises(ErpUnavailable, match="no_such_db"):
            await client.health()
    finally:
        await client.aclose()
