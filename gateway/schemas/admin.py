"""Bodies of the cache purge and ERP change-notice endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.schemas.common import CustomerId, Sku

_Name = Annotated[str, Field(min_length=1, max_length=64)]


class ChangeNotice(BaseModel):
    """What changed in the ERP; every cached answer that depends on it is evicted."""

    model_config = ConfigDict(extra="forbid")

    skus: Annotated[list[Sku], Field(max_length=1000)] = []
    customers: Annotated[list[CustomerId], Field(max_length=1000)] = []
    price_lists: Annotated[list[_Name], Field(max_length=100)] = []
    # evict everything (a price list rebuild, a stock count)
    all: bool = False

    def tags(self) -> list[str]:
        return ([f"sku:{s}" for s in self.skus] + [f"customer:{c}" for c in self.customers]
                + [f"price_list:{p}" for p in self.price_lists])


class PurgeRequest(ChangeNotice):
    """An operator's purge: names something to evict, or ``all``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["all"], "properties": {"all": {"const": True}}},
        {"required": ["skus"], "properties": {"skus": {"minItems": 1}}},
        {"required": ["customers"], "properties": {"customers": {"minItems": 1}}},
        {"required": ["price_lists"], "properties": {"price_lists": {"minItems": 1}}},
    ]})

    @model_validator(mode="after")
    def _names_something(self) -> PurgeRequest:
        if not self.all and not self.tags():
            raise ValueError("name skus, customers or price_lists to purge, or all: true")
        return self


class PurgeResult(BaseModel):
    evicted_locally: int
    shared_tier: bool = Field(description="Redis entries were deleted (False: Redis is down, "
                              "they expire by TTL)")
    replicas_notified: bool


class FrappeDocument(BaseModel):
    """The fields read from a Frappe/ERPNext webhook body (Bin, Item Price, Stock Ledger Entry)."""

    model_config = ConfigDict(extra="ignore")

    item_code: Sku | None = None
    customer: CustomerId | None = None
    price_list: _Name | None = None

    def notice(self) -> ChangeNotice:
        return ChangeNotice(skus=[self.item_code] if self.item_code else [],
                            customers=[self.customer] if self.customer else [],
                            price_lists=[self.price_list] if self.price_list else [])
