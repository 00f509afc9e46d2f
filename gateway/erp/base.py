"""The one protocol every ERP connector speaks, and the errors it may raise.

Exception tree (each maps to one problem type in the routes)::

    ErpError
    ├── UnknownCustomer        404: the ERP does not know the customer
    ├── ErpUnavailable         503: connection refused / ERP says it is down
    ├── ErpTimeout             504: the ERP did not answer within the budget
    └── ErpBadResponse         502: the ERP answered with something we cannot use
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol, runtime_checkable


class ErpError(Exception):
    """Base of every connector failure."""


class UnknownCustomer(ErpError):
    def __init__(self, customer: str) -> None:
        super().__init__(f"customer {customer!r} is not known to the ERP")
        self.customer = customer


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

    @property
    def total_available(self) -> Decimal:
        return sum((w.available for w in self.warehouses), Decimal(0))


@dataclass(frozen=True, slots=True)
class PriceQuote:
    sku: str
    customer: str
    quantity: Decimal
    unit_price: Decimal
    currency: str
    # name of the price list (or contract) the ERP applied; None for the plain list price
    price_list: str | None
    list_price: Decimal


@dataclass(frozen=True, slots=True)
class PriceItem:
    sku: str
    quantity: Decimal


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

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceQuote]:
        """Customer price per SKU at the given quantity; unknown SKUs are absent.

        Raises ``UnknownCustomer`` when the customer does not exist.
        """
        ...

    async def health(self) -> None:
        """Return when the ERP answers; raise an ``ErpError`` otherwise."""
        ...

    async def aclose(self) -> None:
        """Release pooled connections."""
        ...
