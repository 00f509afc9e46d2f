"""Request models shared by every API version (identifiers and query shapes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from carriers.decimals import PositiveDecimal

# any ERP item code that fits a path segment once percent-encoded: printable, spaces and
# slashes inside (``HOSE 1/2``), no control characters, no space at either end
SKU_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?$"

Sku = Annotated[str, Field(pattern=SKU_PATTERN, examples=["SKU-0001"],
                           description="Item code as the ERP knows it (percent-encode it in a "
                           "path: `HOSE 1/2` is `HOSE%201%2F2`)")]
CustomerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$",
                                  examples=["CUST-001"])]
WarehouseId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$",
                                   examples=["WH-EAST"])]
# above 0, at most 1,000,000, 4 decimals: a number, or a string in plain decimal notation
# (the contract's pattern says which strings), never "1_000", "1e3" or "NaN"
Quantity = Annotated[Decimal, *PositiveDecimal(1_000_000, 4, max_digits=12, examples=["1"])]

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
