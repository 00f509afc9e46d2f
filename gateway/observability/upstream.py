"""Metrics, spans and event lines for the calls the gateway makes: ERP and carriers."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from carriers.breaker import BreakerState
from gateway.erp.base import (
    Availability,
    ErpBadResponse,
    ErpConnector,
    ErpError,
    ErpTimeout,
    ErpUnavailable,
    PriceItem,
    PriceQuote,
    UnknownCustomer,
)
from gateway.metrics import GatewayMetrics
from gateway.observability.tracing import Tracing

__all__ = ["CarrierHooks", "MeteredErp"]

log = logging.getLogger("gateway.upstream")


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

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        started = time.perf_counter()
        with self._tracing.span("erp availability", {"erp.connector": self.name,
                                                     "erp.skus": len(skus)}):
            try:
                result = await self.inner.availability(skus)
            except ErpError as exc:
                self._done("availability", started, exc)
                raise
        self._done("availability", started, None)
        return result

    async def prices(self, customer: str, items: Sequence[PriceItem]) -> dict[str, PriceQuote]:
        started = time.perf_counter()
        with self._tracing.span("erp prices", {"erp.connector": self.name,
                                               "erp.items": len(items)}):
            try:
                result = await self.inner.prices(customer, items)
            except ErpError as exc:
                self._done("prices", started, exc)
                raise
        self._done("prices", started, None)
        return result

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
