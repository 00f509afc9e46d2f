"""Carrier accounts from config: built by their adapters, each wrapped in its breaker.

An adapter module exposes ``build(account_id, options) -> Carrier``. Built-in codes map
to import paths below and are imported only when an account uses them; any other code
is looked up in the ``erp_gateway.carriers`` entry-point group, whose value is such a
build callable (built-in codes cannot be overridden).

Every call through a ``GuardedCarrier`` runs inside the account's breaker and under its
``timeout_seconds`` budget (``CarrierTimeout`` when it runs out); an adapter's stray
exception becomes ``CarrierUnavailable`` so a bug looks like an outage, not a 500.

``CarrierRegistry.instrument(hooks)`` lets whoever assembles the service time and trace
every call (``CallHooks``: a span around the call, then its duration and outcome: ``ok``,
``rejected``, ``unavailable``, ``timeout`` or ``breaker_open``).
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from importlib import metadata
from typing import Any, Protocol, TypeVar, cast

from carriers.base import (
    Capability,
    CapabilityMissing,
    Carrier,
    CarrierError,
    CarrierTimeout,
    CarrierUnavailable,
    LabelChecks,
    RepeatablePurchase,
)
from carriers.breaker import BreakerOpen, BreakerSnapshot, BreakerState, CircuitBreaker
from carriers.config import CarrierAccountConfig
from carriers.idempotency import LabelLookup
from carriers.models import (
    CarrierMessage,
    Label,
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)

T = TypeVar("T")
Builder = Callable[[str, Mapping[str, Any]], Carrier]

ENTRY_POINT_GROUP = "erp_gateway.carriers"
BUILTIN_ADAPTERS: Mapping[str, str] = {
    "sandbox": "carriers.sandbox:build",
    "ups": "carriers.adapters.ups:build",
    "fedex": "carriers.adapters.fedex:build",
    "usps": "carriers.adapters.usps:build",
    "dhl_express": "carriers.adapters.dhl:build",
}


class CallHooks(Protocol):
    def span(self, account: str, carrier: str, operation: str
             ) -> AbstractContextManager[object]:
        """Entered around one call (breaker included)."""
        ...

    def done(self, account: str, carrier: str, operation: str, seconds: float,
             outcome: str) -> None:
        """One call ended: how long it took and how it ended."""
        ...


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, BreakerOpen):
        return "breaker_open"
    if isinstance(exc, CarrierTimeout):
        return "timeout"
    if isinstance(exc, CarrierUnavailable):
        return "unavailable"
    return "rejected" if isinstance(exc, CarrierError) else "error"


class CarrierConfigError(ValueError):
    """A carrier account cannot be built; the message names the account."""


class UnknownCarrierAccount(LookupError):
    """No configured account answers to this id (or carrier code) here."""


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def resolve_builder(code: str, *, account_id: str) -> Builder:
    """The build callable for a carrier code; CarrierConfigError when there is none."""
    where = f"shipping account {account_id!r} (carrier {code!r})"
    target = BUILTIN_ADAPTERS.get(code)
    try:
        if target is not None:
            module_name, _, attribute = target.partition(":")
            loaded: object = getattr(importlib.import_module(module_name), attribute)
        else:
            found = [ep for ep in _entry_points() if ep.name == code]
            if not found:
                known = sorted({*BUILTIN_ADAPTERS, *(ep.name for ep in _entry_points())})
                raise CarrierConfigError(
                    f"{where}: unknown carrier code; known: {', '.join(known)}")
            loaded = found[0].load()
    except CarrierConfigError:
        raise
    except (ImportError, AttributeError) as exc:
        raise CarrierConfigError(f"{where}: adapter cannot be loaded: {exc}") from exc
    if not callable(loaded):
        raise CarrierConfigError(f"{where}: {target or code} is not a build callable")
    return cast(Builder, loaded)


class GuardedCarrier:
    """One account as the service sees it: adapter + breaker + per-call timeout."""

    def __init__(self, config: CarrierAccountConfig, inner: Carrier,
                 breaker: CircuitBreaker) -> None:
        self.config = config
        self.inner = inner
        self.breaker = breaker
        self.id = config.id
        self.carrier = inner.carrier
        self.capabilities = inner.capabilities
        self.warehouses = frozenset(config.warehouses)
        self.hooks: CallHooks | None = None

    @property
    def supports_lookup(self) -> bool:
        """Whether the adapter can say if a label id was bought (see carriers.idempotency)."""
        return isinstance(self.inner, LabelLookup)

    def serves(self, warehouse: str) -> bool:
        return "*" in self.warehouses or warehouse in self.warehouses

    async def rate(self, request: RateRequest, *, budget: float | None = None) -> list[Rate]:
        return await self._guard(Capability.RATE, lambda: self.inner.rate(request), budget)

    @property
    def repeatable_purchase(self) -> bool:
        """Whether buying again with the record's carrier key returns the first label."""
        inner = self.inner
        return isinstance(inner, RepeatablePurchase) and inner.repeatable_purchase

    def check_label(self, request: LabelRequest) -> None:
        """The adapter's local refusals (customs, phones …), before anything is claimed."""
        if isinstance(self.inner, LabelChecks):
            self.inner.check_label(request)

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None, budget: float | None = None) -> Label:
        return await self._guard(
            Capability.LABEL,
            lambda: self.inner.purchase(request, label_id, carrier_key=carrier_key), budget)

    async def void(self, label: Label, *, budget: float | None = None) -> VoidResult:
        return await self._guard(Capability.VOID, lambda: self.inner.void(label), budget)

    async def track(self, tracking_number: str, *, budget: float | None = None) -> Tracking:
        return await self._guard(Capability.TRACK,
                                 lambda: self.inner.track(tracking_number), budget)

    async def find_label(self, label_id: str, *, budget: float | None = None) -> Label | None:
        inner = self.inner
        if not isinstance(inner, LabelLookup):
            raise self._missing("lookup")
        return await self._guard(None, lambda: inner.find_label(label_id), budget)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def _guard(self, capability: Capability | None, operation: Callable[[], Awaitable[T]],
                     budget: float | None) -> T:
        """``budget`` (seconds) can only shorten the account's ``timeout_seconds``."""
        if capability is not None and capability not in self.capabilities:
            raise self._missing(capability.value)
        seconds = self.config.timeout_seconds if budget is None else min(
            budget, self.config.timeout_seconds)
        hooks = self.hooks
        if hooks is None:
            return await self.breaker.call(lambda: self._bounded(operation, seconds))
        name = capability.value if capability is not None else "lookup"
        outcome = "ok"
        started = time.perf_counter()
        with hooks.span(self.id, self.carrier, name):
            try:
                return await self.breaker.call(lambda: self._bounded(operation, seconds))
            except Exception as exc:
                outcome = _outcome(exc)
                raise
            finally:
                hooks.done(self.id, self.carrier, name, time.perf_counter() - started, outcome)

    async def _bounded(self, operation: Callable[[], Awaitable[T]], budget: float) -> T:
        try:
            async with asyncio.timeout(budget):
                return await operation()
        except CarrierError:
            raise
        except TimeoutError as exc:
            raise CarrierTimeout(self.carrier, [CarrierMessage(
                carrier=self.carrier, code="timeout",
                message=f"{self.id} did not answer within {budget:g} s")]) from exc
        except Exception as exc:
            raise CarrierUnavailable(self.carrier, [CarrierMessage(
                carrier=self.carrier, code="adapter_error",
                message=f"{self.id}: {type(exc).__name__} in the adapter")]) from exc

    def _missing(self, what: str) -> CapabilityMissing:
        return CapabilityMissing(self.carrier, [CarrierMessage(
            carrier=self.carrier, code="capability_missing",
            message=f"{self.id} ({self.carrier}) cannot {what}")])


class CarrierRegistry:
    """The configured accounts, in config order."""

    def __init__(self, accounts: Iterable[tuple[CarrierAccountConfig, Carrier]], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._accounts: dict[str, GuardedCarrier] = {}
        for config, carrier in accounts:
            if config.id in self._accounts:
                raise CarrierConfigError(f"shipping account {config.id!r} is configured twice")
            breaker = CircuitBreaker(config.id, config.breaker, carrier=carrier.carrier,
                                     clock=clock)
            self._accounts[config.id] = GuardedCarrier(config, carrier, breaker)

    @classmethod
    def from_config(cls, accounts: Sequence[CarrierAccountConfig], *,
                    builders: Mapping[str, Builder] | None = None,
                    clock: Callable[[], float] = time.monotonic) -> CarrierRegistry:
        """Resolve every builder first (so a bad code fails before anything is opened), then build.

        ``builders`` overrides the lookup per carrier code (tests, embedding).
        """
        overrides = builders or {}
        resolved = [overrides.get(a.carrier) or resolve_builder(a.carrier, account_id=a.id)
                    for a in accounts]
        built: list[tuple[CarrierAccountConfig, Carrier]] = []
        for config, build in zip(accounts, resolved, strict=True):
            try:
                carrier = build(config.id, config.options)
            except Exception as exc:
                raise CarrierConfigError(
                    f"shipping account {config.id!r} (carrier {config.carrier!r}):"
                    f" invalid options: {exc}") from exc
            if not isinstance(carrier, Carrier) or carrier.id != config.id:
                raise CarrierConfigError(
                    f"shipping account {config.id!r}: builder for {config.carrier!r} did not"
                    " return a Carrier with that id")
            built.append((config, carrier))
        return cls(built, clock=clock)

    def all(self) -> list[GuardedCarrier]:
        return list(self._accounts.values())

    def accounts_for(self, warehouse: str) -> list[GuardedCarrier]:
        return [account for account in self._accounts.values() if account.serves(warehouse)]

    def get(self, account_id: str) -> GuardedCarrier:
        try:
            return self._accounts[account_id]
        except KeyError:
            raise UnknownCarrierAccount(f"no carrier account {account_id!r}") from None

    def instrument(self, hooks: CallHooks,
                   on_transition: Callable[[str, BreakerState, BreakerState], None] | None = None
                   ) -> None:
        """Time and trace every account's calls; hear every breaker's state changes."""
        for account in self._accounts.values():
            account.hooks = hooks
            if on_transition is not None:
                account.breaker.listeners.append(on_transition)

    def breaker_states(self) -> list[BreakerSnapshot]:
        return [account.breaker.snapshot() for account in self._accounts.values()]

    async def aclose(self) -> None:
        results = await asyncio.gather(*(a.aclose() for a in self._accounts.values()),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
