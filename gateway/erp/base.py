"""The one protocol every ERP connector speaks, and the errors it may raise.

Exception tree (each maps to one problem type in the routes)::

    ErpError
    ├── UnknownCustomer        404: the ERP does not know the customer
    ├── OrderNotFound          404: no such order (or not the caller's)
    ├── OrderRefused           409: the ERP will not do it (cancel a shipped order …)
    ├── ErpUnavailable         503: connection refused / ERP says it is down
    ├── ErpTimeout             504: the ERP did not answer within the budget
    └── ErpBadResponse         502: the ERP answered with something we cannot use
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ErpError(Exception):
    """Base of every connector failure."""


class UnknownCustomer(ErpError):
    def __init__(self, customer: str) -> None:
        super().__init__(f"customer {customer!r} is not known to the ERP")
        self.customer = customer


class OrderNotFound(ErpError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} is not known to the ERP")
        self.order_id = order_id


class OrderRefused(ErpError):
    """The ERP refuses the operation on this order as it stands (its words in the message)."""


class ErpUnavailable(ErpError):
    retry_after: int = 5


class ErpTimeout(ErpError):
    retry_after: int = 2


class ErpBadResponse(ErpError):
    pass


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    warehouse: str
    on_hand: Decimal
    # available to promise: on hand minus what is already reserved / committed
    available: Decimal
    next_receipt_date: date | None = None
    next_receipt_quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    sku: str
    warehouses: tuple[WarehouseStock, ...] = field(default_factory=tuple)
    # the unit stock is counted in
    unit: str = "unit"

    @property
    def total_available(self) -> Decimal:
        return sum((w.available for w in self.warehouses), Decimal(0))


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """What the ERP would put on a sales order line for this customer, SKU and quantity."""

    sku: str
    customer: str
    # in ``unit``
    quantity: Decimal
    # per ``unit``, in ``currency`` (the customer's sale currency)
    unit_price: Decimal
    currency: str
    # name of the price list (or contract) the ERP applied; None for the plain list price
    price_list: str | None
    # per ``unit`` and in ``currency`` too; None when the product has no list price
    list_price: Decimal | None
    # ``unit_price`` includes tax (the ERP's lines carry gross prices); False: net of tax
    tax_included: bool = False
    # the unit the product is sold in (``quantity`` and prices are per this unit)
    unit: str = "unit"
    # how many stock units (``Availability.unit``) one sale unit is: 12 for a dozen
    stock_units: Decimal = Decimal(1)


@dataclass(frozen=True, slots=True)
class PriceUnavailable:
    """One SKU the ERP knows but cannot price for this customer; the others keep theirs."""

    sku: str
    reason: str


@dataclass(frozen=True, slots=True)
class PriceItem:
    sku: str
    quantity: Decimal


PriceResult = PriceQuote | PriceUnavailable


class OrderState(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    street: tuple[str, ...]
    city: str
    postal_code: str
    country: str  # ISO 3166-1 alpha-2
    region: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    # in the product's sale unit
    quantity: Decimal
    # the price the gateway checked against the ERP's own quote; sent as the line price
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A sales order to create in the ERP, quoted and confirmed in one go."""

    customer: str
    # the channel's own order reference: the ERP keeps it and finds the order by it
    reference: str
    # who placed it (the principal's key); stored with the order, it decides ownership
    channel: str
    warehouse: str
    lines: tuple[OrderLine, ...]
    ship_to: Address


@dataclass(frozen=True, slots=True)
class Shipment:
    id: str
    state: str
    tracking_numbers: tuple[str, ...] = ()
    carrier: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLineState:
    sku: str
    quantity: Decimal
    unit: str
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    """A sales order as the ERP has it now."""

    # the ERP's own reference for the order (path-safe)
    id: str
    reference: str
    channel: str | None
    customer: str
    state: OrderState
    warehouse: str | None
    currency: str
    lines: tuple[OrderLineState, ...]
    shipments: tuple[Shipment, ...] = ()
    # untaxed total, in ``currency``
    total: Decimal | None = None


@runtime_checkable
class ErpConnector(Protocol):
    """What the gateway needs from a system of record.

    Connectors own one pooled HTTP client (when they speak HTTP) and map every
    transport or upstream failure to an ``ErpError`` subclass.
    """

    name: str

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        """Stock per warehouse for each SKU; SKUs the ERP does not know are absent."""
        ...

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        """What a sales order line for the customer would cost per SKU at the quantity.

        Unknown SKUs are absent; a SKU the ERP cannot price is a ``PriceUnavailable``
        (the other SKUs keep their quotes). Raises ``UnknownCustomer`` when the customer
        does not exist.
        """
        ...

    async def warehouses(self) -> tuple[str, ...]:
        """Codes of the warehouses availability reports, in report order."""
        ...

    async def create_order(self, order: NewOrder) -> Order:
        """Create the sales order and confirm it (the ERP reserves or plans its stock)."""
        ...

    async def find_order(self, customer: str, reference: str) -> Order | None:
        """The order the customer has under the channel's reference, if any."""
        ...

    async def get_order(self, order_id: str) -> Order:
        """The order's state, with its shipments; ``OrderNotFound`` when unknown."""
        ...

    async def cancel_order(self, order_id: str) -> Order:
        """Cancel where the ERP allows it; ``OrderRefused`` with its reason otherwise."""
        ...

    async def health(self) -> None:
        """Return when the ERP answers; raise an ``ErpError`` otherwise."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...


@runtime_checkable
class LoginCheck(Protocol):
    """Connectors that log in: prove the credentials now and say as whom."""

    async def check_login(self) -> str:
        ...


async def connect_check(connector: ErpConnector) -> str:
    """Log in (or ask the ERP's health) now; what was reached, or an ``ErpError``."""
    inner = getattr(connector, "inner", connector)  # a counting wrapper
    if isinstance(inner, LoginCheck):
        return await inner.check_login()
    await connector.health()
    return f"the {connector.name} ERP answers"
