"""API v2 response models: decimal strings for money and quantities, currency objects,
per-warehouse available-to-promise and the next expected receipt."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from gateway.schemas.v1 import PriceError

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
    unit: str = Field("unit", description="The unit stock is counted in")
    as_of: datetime


class InventoryListV2(BaseModel):
    items: list[InventoryV2]
    not_found: list[str]


class PriceV2(BaseModel):
    sku: str
    customer: str
    quantity: DecimalString = Field(description="In unit")
    unit_price: Money = Field(description="Per unit, what the ERP puts on the order line")
    list_price: Money = Field(description="Per unit, in the customer's currency (a product "
                              "without a list price is listed in errors: v1 shows its price)")
    price_list: str | None
    tax_included: bool = Field(False, description="unit_price includes tax")
    unit: str = Field("unit", description="The unit the product is sold in")
    as_of: datetime


class PriceListV2(BaseModel):
    customer: str
    items: list[PriceV2]
    not_found: list[str]
    errors: list[PriceError] = Field(
        [], description="SKUs the ERP knows but cannot price; the other items are unaffected")
