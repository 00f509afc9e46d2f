"""The in-process demo ERP connector (the embedded default)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.erp.base import (
    Availability,
    ErpUnavailable,
    NewOrder,
    Order,
    PriceItem,
    PriceResult,
    UnknownCustomer,
)
from gateway.erp.demo.catalog import WAREHOUSES, DemoCatalog, catalog
from gateway.erp.demo.orders import DemoOrderBook


class DemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["demo"] = "demo"
    # simulated ERP latency per call, for drills
    latency_ms: float = Field(default=0, ge=0, le=60_000)


class DemoConnector:
    name = "demo"

    def __init__(self, config: DemoConfig | None = None, data: DemoCatalog | None = None) -> None:
        self.config = config or DemoConfig()
        self.catalog = data or catalog()
        self.orders = DemoOrderBook(self.catalog)
        self.calls: Counter[str] = Counter()
        # drills and tests flip this to simulate an ERP outage
        self.down = False

    async def _call(self, kind: str) -> None:
        self.calls[kind] += 1
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if self.down:
            raise ErpUnavailable("demo ERP is down (simulated)")

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        await self._call("availability")
        return self.orders.availability(skus)

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        await self._call("prices")
        found = self.catalog.customers.get(customer)
        if found is None:
            raise UnknownCustomer(customer)
        quotes: dict[str, PriceResult] = {}
        for item in items:
            quote = self.catalog.price(found, item.sku, item.quantity)
            if quote is not None:
                quotes[item.sku] = quote
        return quotes

    async def warehouses(self) -> tuple[str, ...]:
        return WAREHOUSES

    async def create_order(self, order: NewOrder) -> Order:
        await self._call("create_order")
        return self.orders.create(order)

    async def find_order(self, customer: str, reference: str) -> Order | None:
        await self._call("find_order")
        return self.orders.find(customer, reference)

    async def get_order(self, order_id: str) -> Order:
        await self._call("get_order")
        return self.orders.get(order_id)

    async def cancel_order(self, order_id: str) -> Order:
        await self._call("cancel_order")
        return self.orders.cancel(order_id)

    async def health(self) -> None:
        if self.down:
            raise ErpUnavailable("demo ERP is down (simulated)")

    async def aclose(self) -> None:
        return None
