"""API v2 response models: decimal strings for money and quantities, currency objects,
per-warehouse available-to-promise and the next expected receipt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

DecimalString = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["12.50"])]


class Currency(BaseModel):
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class Money(BaseModel):
    amount: DecimalString
    currency: Currency


class Receipt(BaseModel):
    date: date
    quantity: DecimalString | None


class WarehouseAvailabilityV2(BaseModel):
    warehouse: str
    on_hand: DecimalString
    available_to_promise: DecimalString
    next_receipt: Receipt | None = Field(
        description="Next expected receipt into this warehouse, when the ERP knows it")


class InventoryV2(BaseModel):
    sku: str
    available_to_promise: DecimalString
    warehouses: list[WarehouseAvailabilityV2]
    as_of: datetime


class InventoryListV2(BaseModel):
    items: list[InventoryV2]
    not_found: list[str]


class PriceV2(BaseModel):
    sku: str
    customer: str
    quantity: DecimalString
    unit_price: Money
    list_price: Money
    price_list: str | None
    as_of: datetime


class PriceListV2(BaseModel):
    customer: str
    items: list[PriceV2]
    not_found: list[str]
