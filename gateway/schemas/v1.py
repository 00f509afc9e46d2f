"""API v1 response models.

v1's known flaws, kept for compatibility and fixed in v2: money is a JSON
number, and inventory shows only one available figure per warehouse.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class WarehouseAvailabilityV1(BaseModel):
    warehouse: str
    available: float


class InventoryV1(BaseModel):
    sku: str
    total_available: float
    warehouses: list[WarehouseAvailabilityV1]
    unit: str = Field("unit", description="The unit stock is counted in")
    as_of: datetime = Field(description="When the ERP produced these figures")


class InventoryListV1(BaseModel):
    items: list[InventoryV1]
    not_found: list[str] = Field(description="Requested SKUs the ERP does not know")


class PriceV1(BaseModel):
    sku: str
    customer: str
    quantity: float
    unit_price: float
    currency: str
    price_list: str | None
    tax_included: bool = Field(False, description="unit_price includes tax")
    unit: str = Field("unit", description="The unit quantity and unit_price are per")
    as_of: datetime


class PriceError(BaseModel):
    sku: str
    detail: str = Field(description="Why the ERP cannot price this SKU for the customer")


class PriceListV1(BaseModel):
    customer: str
    items: list[PriceV1]
    not_found: list[str]
    errors: list[PriceError] = Field(
        [], description="SKUs the ERP knows but cannot price; the other items are unaffected")
