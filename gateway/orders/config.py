"""``[orders]``: how strict the order checks are and how long stock is held."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class OrdersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # a line whose expected unit price differs from the ERP's by more than this is refused
    price_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)
    # how long a (SKU, warehouse) hold lives if its holder dies; above the ERP budget
    reservation_seconds: float = Field(default=30.0, gt=0, le=600)
    # how long an order waits for another order's hold on the same stock
    reservation_wait_seconds: float = Field(default=5.0, ge=0, le=60)
    # idempotency records: kept this long, taken over after this lease (holder crashed)
    record_ttl_hours: int = Field(default=72, ge=1, le=24 * 30)
    lease_seconds: float = Field(default=60.0, ge=5, le=3600)
    # how long a duplicate waits for the first request with its key before a 409
    duplicate_wait_seconds: float = Field(default=10.0, ge=0, le=60)
    redis_key_prefix: str = "erp-gateway:orders:"
