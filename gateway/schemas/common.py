"""Request models shared by every API version (identifiers and query shapes)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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
# a quantity as text: plain decimal notation, above 0, at most 1,000,000 with 4 places.
# Decimal() alone would also take "1_000", "1e3", "NaN" and surrounding spaces.
QUANTITY_TEXT = (r"^(?=[0-9.]*[1-9])(?:[0-9]{1,6}(?:\.[0-9]{1,4})?|1000000(?:\.0{1,4})?)$")
_QUANTITY_RE = re.compile(QUANTITY_TEXT)


def quantity_text(value: Any) -> Any:
    """Refuse a string that is not a quantity in plain notation (numbers pass to the model)."""
    if isinstance(value, str) and not _QUANTITY_RE.fullmatch(value):
        raise ValueError("a quantity above 0 and at most 1000000 in plain decimal notation "
                         "(digits, at most 4 decimals) is expected, such as 12 or 2.5")
    return value


def _pattern_on_strings(schema: dict[str, Any]) -> None:
    # the contract says which strings are quantities, so a client (or a fuzzer) sends only those
    for branch in schema.get("anyOf", ()):
        if branch.get("type") == "string":
            branch["pattern"] = QUANTITY_TEXT


# multiple_of puts the 4-decimal limit into the contract, not only into validation
Quantity = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=12, decimal_places=4,
                                    multiple_of=Decimal("0.0001"), examples=["1"],
                                    json_schema_extra=_pattern_on_strings),
                     BeforeValidator(quantity_text)]

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
