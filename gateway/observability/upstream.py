"""Metrics, spans and event lines for the calls the gateway makes: ERP and carriers."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from carriers.breaker import BreakerState
from gateway.erp.base import (
    Availability,
    ErpBadResponse,
    ErpConnector,
    ErpError,
    ErpTimeout,
    ErpUnavailable,
    NewOrder,
    Order,
    PriceItem,
    PriceResult,
    UnknownCustomer,
)
from gateway.metrics import GatewayMetrics
from gateway.observability.tracing import Tracing

__all__ = ["CarrierHooks", "MeteredErp"]

log = logging.getLogger("gateway.upstream")
T = TypeVar("T")


def _erp_outcome(exc: BaseException) -> str:
    if isinstance(exc, ErpTimeout):
        return "timeout"
    if isinstance(exc, ErpUnavailable):
        return "unavailable"
    if isinstance(exc, ErpBadResponse):
        return "bad_response"
    if isinstance(exc, UnknownCustomer):
        return "unknown_customer"
    return "error"


class MeteredErp:
    """An ``ErpConnector`` that times, traces and counts every call of the one it wraps.

    Attributes it does not define (a connector's own counters, later protocol methods)
    are the wrapped connector's.
    """

    def __init__(self, inner: ErpConnector, metrics: GatewayMetrics, tracing: Tracing) -> None:
        self.inner = inner
        self.name = inner.name
        self._metrics = metrics
        self._tracing = tracing

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _call(self, call: str, attributes: dict[str, Any],
                    operation: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        with self._tracing.span(f"erp {call}", {"erp.connector": self.name, **attributes}):
            try:
                result = await operation()
            except ErpError as exc:
                self._done(call, started, exc)
                raise
        self._done(call, started, None)
        return result

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        return await self._call("availability", {"erp.skus": len(skus)},
                                lambda: self.inner.availability(skus))

    async def prices(self, customer: str, items: Sequence[PriceItem]
                     ) -> dict[str, PriceResult]:
        return await self._call("prices", {"erp.items": len(items)},
                                lambda: self.inner.prices(customer, items))

    async def warehouses(self) -> tuple[str, ...]:
        return await self._call("warehouses", {}, self.inner.warehouses)

    async def create_order(self, order: NewOrder) -> Order:
        return await self._call("create_order", {}, lambda: self.inner.create_order(order))

    async def find_order(self, customer: str, reference: str) -> Order | None:
        return await self._call("find_order", {},
                                lambda: self.inner.find_order(customer, reference))

    async def get_order(self, order_id: str) -> Order:
        return await self._call("get_order", {}, lambda: self.inner.get_order(order_id))

    async def cancel_order(self, order_id: str) -> Order:
        return await self._call("cancel_order", {}, lambda: self.inner.cancel_order(order_id))

    async def health(self) -> None:
        await self.inner.health()

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _done(self, call: str, started: float, error: ErpError | None) -> None:
        seconds = time.perf_counter() - started
        outcome = "ok" if error is None else _erp_outcome(error)
        self._metrics.erp_calls.labels(self.name, call, outcome).inc()
        self._metrics.erp_latency.labels(self.name, call).observe(seconds)
        if error is not None and outcome != "unknown_customer":
            log.warning("ERP %s call failed: %s", call, error, extra={
                "event": "erp_error", "connector": self.name, "call": call,
                "outcome": outcome, "latency_ms": round(seconds * 1000, 3)})


class CarrierHooks:
    """``carriers.registry.CallHooks`` onto the gateway's metrics and traces."""

    def __init__(self, metrics: GatewayMetrics, tracing: Tracing) -> None:
        self._metrics = metrics
        self._tracing = tracing

    def span(self, account: str, carrier: str, operation: str
             ) -> AbstractContextManager[object]:
        return self._tracing.span(f"carrier {operation}", {
            "carrier.account": account, "carrier.code": carrier})

    def done(self, account: str, carrier: str, operation: str, seconds: float,
             outcome: str) -> None:
        self._metrics.carrier_calls.labels(account, carrier, operation, outcome).inc()
        if outcome != "breaker_open":  # refused at once: no call to time
            self._metrics.carrier_latency.labels(account, carrier, operation).observe(seconds)

    def transition(self, account: str, old: BreakerState, new: BreakerState) -> None:
        self._metrics.breaker_transitions.labels(account, old.value, new.value).inc()
        level = logging.WARNING if new is BreakerState.OPEN else logging.INFO
        log.log(level, "carrier account %s: breaker %s -> %s", account, old.value, new.value,
                extra={"event": "breaker_transition", "account": account,
                       "from_state": old.value, "to_state": new.value})
