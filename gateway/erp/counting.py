"""ERP call counting every connector shares: a wrapper around any ``ErpConnector``.

``calls`` counts each protocol operation the gateway asked for, ``failures`` the ones that
raised, by operation and error class (``prices``, ``ErpTimeout``). Metrics read
``snapshot()``; the connector itself stays unaware of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import TypeVar

from gateway.erp.base import (
    Availability,
    ErpConnector,
    NewOrder,
    Order,
    PriceItem,
    PriceResult,
)

T = TypeVar("T")


class CountingConnector:
    """An ``ErpConnector`` that counts calls and failures of the one it wraps."""

    def __init__(self, inner: ErpConnector) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: Counter[str] = Counter()
        self.failures: Counter[tuple[str, str]] = Counter()

    def snapshot(self) -> dict[str, int]:
        """``{operation: calls}`` plus ``{operation_failed_ErrorClass: n}``."""
        out = dict(self.calls)
        for (operation, error), count in self.failures.items():
            out[f"{operation}_failed_{error}"] = count
        return out

    async def _counted(self, operation: str, call: Awaitable[T]) -> T:
        self.calls[operation] += 1
        try:
            return await call
        except Exception as exc:
            self.failures[(operation, type(exc).__name__)] += 1
            raise

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        return await self._counted("availability", self.inner.availability(skus))

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceResult]:
        return await self._counted("prices", self.inner.prices(customer, items))

    async def warehouses(self) -> tuple[str, ...]:
        return await self._counted("warehouses", self.inner.warehouses())

    async def create_order(self, order: NewOrder) -> Order:
        return await self._counted("create_order", self.inner.create_order(order))

    async def find_order(self, customer: str, reference: str) -> Order | None:
        return await self._counted("find_order", self.inner.find_order(customer, reference))

    async def get_order(self, order_id: str) -> Order:
        return await self._counted("get_order", self.inner.get_order(order_id))

    async def cancel_order(self, order_id: str) -> Order:
        return await self._counted("cancel_order", self.inner.cancel_order(order_id))

    async def health(self) -> None:
        await self._counted("health", self.inner.health())

    async def aclose(self) -> None:
        await self.inner.aclose()
