"""Request models shared by every API version (identifiers and query shapes)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
# the hot path checks a path SKU with this before paying for a model validation
SKU_RE = re.compile(SKU_PATTERN)

Sku = Annotated[str, Field(pattern=SKU_PATTERN,
                           examples=["SKU-0001"], description="Item code as the ERP knows it")]
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$",
                                  examples=["CUST-001"])]
WarehouseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$",
                                   examples=["WH-EAST"])]
# multiple_of puts the 4-decimal limit into the contract, not only into validation
Quantity = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=12, decimal_places=4,
                                    multiple_of=Decimal("0.0001"), examples=["1"])]

MAX_QUERY_ITEMS = 100


class _Strict(BaseModel):
    """Write and query bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class _Params(BaseModel):
    """Path and query parameters: unknown query parameters are ignored."""

    model_config = ConfigDict(extra="ignore")


class SkuPath(_Params):
    sku: Sku


class PriceQuery(_Params):
    customer: CustomerId
    quantity: Quantity = Decimal(1)


class InventoryQuery(_Strict):
    skus: Annotated[list[Sku], Field(min_length=1, max_length=MAX_QUERY_ITEMS)]
    warehouses: Annotated[list[WarehouseId] | None, Field(
        max_length=50, description="Only these warehouses; all when absent")] = None


class PriceQueryItem(_Strict):
    sku: Sku
    quantity: Quantity = Decimal(1)


class PricesQuery(_Strict):
    customer: CustomerId
    items: Annotated[list[PriceQueryItem], Field(min_length=1, max_length=MAX_QUERY_ITEMS)]
