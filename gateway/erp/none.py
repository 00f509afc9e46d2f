"""``[erp] kind = "none"``: a gateway with no ERP behind it (shipping only, say).

Catalog routes answer 503 saying so; nothing is ever made up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gateway.erp.base import (
    Availability,
    ErpUnavailable,
    NewOrder,
    Order,
    PriceItem,
    PriceResult,
)


class NoErpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["none"] = "none"


class ErpNotConfigured(ErpUnavailable):
    """The configuration says there is no ERP (503, without a Retry-After)."""

    def __init__(self) -> None:
        super().__init__('no ERP is configured for this gateway ([erp] kind = "none")')
        self.retry_after = None  # type: ignore[assignment]  # waiting will not help


class NoErpConnector:
    name = "none"

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        raise ErpNotConfigured()

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        raise ErpNotConfigured()

    async def warehouses(self) -> tuple[str, ...]:
        raise ErpNotConfigured()

    async def create_order(self, order: NewOrder) -> Order:
        raise ErpNotConfigured()

    async def find_order(self, customer: str, reference: str) -> Order | None:
        raise ErpNotConfigured()

    async def get_order(self, order_id: str) -> Order:
        raise ErpNotConfigured()

    async def cancel_order(self, order_id: str) -> Order:
        raise ErpNotConfigured()

    async def health(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
