"""The shipping service the routes call: rate-shop, buy, reprint, void, track.

Errors the routes map (everything else is a bug → 500)::

    CarrierRejected          422  the carrier refused (its messages); replayed for the same key
    CarrierUnavailable       503  + Retry-After (exc.retry_after); includes BreakerOpen
    └── CarrierTimeout       503  the carrier did not answer in its budget (a purchase
                              may have happened: the retry resolves it, see idempotency)
    CapabilityMissing        422  this account cannot do that (e.g. void on DHL)
    UnknownCarrierAccount    422  the request body names no account serving its warehouse
    TrackingCarrierNotFound  404  the tracking path names no account or carrier code
    LabelNotFound            404  also for another caller's label (see carriers.tenancy)
    └── WarehouseNotAllowed  404  a purchase for a warehouse the caller may not ship from
    IdempotencyMismatch      422  same key, different body
    IdempotencyInProgress    409  + Retry-After (exc.retry_after)
    IdempotencyUnresolved    409  an operator has to check the carrier account

Tags (``cheapest``, ``fastest``, ``best_value``) go to one rate each, among the rates in
the most common currency (a message says so when other currencies were left out), and
among live rates whenever there is at least one: a table estimate should not win over a
real quote. ``best_value`` is the cheapest rate that arrives at most one day later than
the fastest; with no transit estimates at all it is the cheapest.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from pydantic import BaseModel, ConfigDict

from carriers.base import (
    Capability,
    CapabilityMissing,
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.breaker import BreakerOpen
from carriers.config import FallbackRule, ShippingConfig
from carriers.fallback import FallbackReason, FallbackTable
from carriers.idempotency import IdempotencyStore, IdempotentPurchases, PurchaseKind, fingerprint
from carriers.models import (
    CarrierMessage,
    Label,
    LabelRequest,
    MessageLevel,
    Rate,
    RateRequest,
    RateSource,
    Tracking,
    VoidResult,
)
from carriers.registry import CarrierRegistry, GuardedCarrier, UnknownCarrierAccount
from carriers.tenancy import Tenant

GATEWAY = "gateway"
# stragglers that ignore cancellation get this long past the deadline before being abandoned
_DEADLINE_GRACE = 0.05


class TrackingCarrierNotFound(LookupError):
    """The tracking path names no configured account or carrier code."""


class LabelNotFound(LookupError):
    """No such label for this caller (whether or not another caller has one by that id)."""


class WarehouseNotAllowed(LabelNotFound):
    """The caller may not ship from the request's warehouse; answered like a missing label."""


class RateShopResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    rates: list[Rate]
    messages: list[CarrierMessage]


@dataclass
class ShippingCounters:
    rate_shops: int = 0
    carrier_failures: int = 0
    fallbacks_used: int = 0
    fallback_rates: int = 0
    purchases: int = 0
    replays: int = 0
    recoveries: int = 0
    purchase_failures: int = 0
    voids: int = 0
    void_refusals: int = 0
    tracks: int = 0

    def snapshot(self) -> dict[str, int]:
        return asdict(self)


class ShippingService:
    def __init__(self, registry: CarrierRegistry,
                 fallback: FallbackTable | Sequence[FallbackRule],
                 store: IdempotencyStore, *, deadline_seconds: float = 10.0,
                 purchases: IdempotentPurchases | None = None) -> None:
        self.registry = registry
        self.fallback = fallback if isinstance(fallback, FallbackTable) else FallbackTable(
            fallback)
        self.store = store
        self.deadline_seconds = deadline_seconds
        self.purchases = purchases or IdempotentPurchases(store)
        self.counters = ShippingCounters()

    @classmethod
    def from_config(cls, config: ShippingConfig, registry: CarrierRegistry,
                    store: IdempotencyStore) -> ShippingService:
        idem = config.idempotency
        purchases = IdempotentPurchases(store, ttl_seconds=idem.ttl_hours * 3600,
                                        lease_seconds=idem.lease_seconds,
                                        wait_seconds=idem.wait_seconds)
        return cls(registry, config.fallback.rules, store,
                   deadline_seconds=config.rate_shop_deadline_seconds, purchases=purchases)

    async def rate_shop(self, request: RateRequest) -> RateShopResult:
        """Live rates from every account of the warehouse (or the requested ones), concurrently.

        A carrier that is down (breaker open, timeout, 5xx) is replaced by fallback table
        rates when a row matches, with warning messages; a 4xx gives messages only.
        """
        self.counters.rate_shops += 1
        accounts, messages = self._rating_accounts(request)
        tasks = [asyncio.create_task(self._rate_one(account, request)) for account in accounts]
        try:
            done: set[asyncio.Task[tuple[list[Rate], list[CarrierMessage]]]] = set()
            if tasks:
                done, _ = await asyncio.wait(tasks,
                                             timeout=self.deadline_seconds + _DEADLINE_GRACE)
        finally:
            stragglers = [task for task in tasks if not task.done()]
            for task in stragglers:
                task.cancel()
            if stragglers:
                await asyncio.wait(stragglers, timeout=_DEADLINE_GRACE)
        rates: list[Rate] = []
        for account, task in zip(accounts, tasks, strict=True):
            if task in done:
                found, said = task.result()
            else:
                found, said = self._fallback(account, request, FallbackReason.DEADLINE, [
                    CarrierMessage(carrier=account.carrier, code="deadline",
                                   message=f"{account.id} did not answer before the deadline")])
            rates.extend(found)
            messages.extend(said)
        tagged, notes = tag_rates(rates)
        return RateShopResult(rates=tagged, messages=messages + notes)

    async def buy_label(self, tenant: Tenant, idempotency_key: str,
                        request: LabelRequest) -> Label:
        """Buy once per (caller, key); replays return the same label. Never falls back."""
        if not tenant.may_ship_from(request.warehouse):
            raise WarehouseNotAllowed(
                f"no warehouse {request.warehouse!r} to ship from for this client")
        account = self._label_account(request)
        if Capability.LABEL not in account.capabilities:
            raise CapabilityMissing(account.carrier, [CarrierMessage(
                carrier=account.carrier, code="capability_missing",
                message=f"{account.id} cannot buy labels")])
        account.check_label(request)  # local refusals never claim the key
        lookup = account.find_label if account.supports_lookup else (
            _never_bought if account.repeatable_purchase else None)
        try:
            outcome = await self.purchases.run(
                tenant.key, idempotency_key, fingerprint(request),
                lambda label_id, key: account.purchase(request, label_id, carrier_key=key),
                lookup, warehouse=request.warehouse)
        except CarrierError:
            self.counters.purchase_failures += 1
            raise
        if outcome.kind is PurchaseKind.PURCHASED:
            self.counters.purchases += 1
        elif outcome.kind is PurchaseKind.RECOVERED:
            self.counters.recoveries += 1
        else:
            self.counters.replays += 1
        return outcome.label

    async def get_label(self, label_id: str, tenant: Tenant) -> Label:
        """The label if it is the caller's (``carriers.tenancy``); LabelNotFound otherwise."""
        stored = await self.store.get_stored_label(label_id)
        # another caller's label is answered exactly like a missing one
        if stored is None or not tenant.may_see(stored.owner):
            raise LabelNotFound(f"no label {label_id!r}")
        return stored.label

    async def void_label(self, label_id: str, tenant: Tenant) -> VoidResult:
        """Void at the carrier; a refusal comes back as voided=False with the carrier's words."""
        label = await self.get_label(label_id, tenant)
        if label.voided:
            return VoidResult(carrier=label.carrier, tracking_number=label.tracking_number,
                              voided=True, message="already voided")
        account = self.registry.get(label.carrier_account)
        try:
            result = await account.void(label)
        except CarrierRejected as exc:
            result = VoidResult(carrier=label.carrier, tracking_number=label.tracking_number,
                                voided=False, message=str(exc))
        if result.voided:
            self.counters.voids += 1
            await self.store.mark_voided(label_id)
        else:
            self.counters.void_refusals += 1
        return result

    async def track(self, carrier_code_or_account: str, tracking_number: str) -> Tracking:
        """Track through the named account, or the first account of that carrier code."""
        self.counters.tracks += 1
        return await self._tracking_account(carrier_code_or_account).track(tracking_number)

    def breaker_states(self) -> list[dict[str, object]]:
        return [snapshot.model_dump(mode="json") for snapshot in self.registry.breaker_states()]

    async def aclose(self) -> None:
        await self.purchases.drain()
        await self.registry.aclose()
        await self.store.aclose()

    async def _rate_one(self, account: GuardedCarrier,
                        request: RateRequest) -> tuple[list[Rate], list[CarrierMessage]]:
        try:
            return await account.rate(request, budget=self.deadline_seconds), []
        except BreakerOpen as exc:
            return self._fallback(account, request, FallbackReason.BREAKER_OPEN, exc.messages)
        except CarrierTimeout as exc:
            return self._fallback(account, request, FallbackReason.TIMEOUT, exc.messages)
        except CarrierUnavailable as exc:
            return self._fallback(account, request, FallbackReason.CARRIER_UNAVAILABLE,
                                  exc.messages)
        except CarrierRejected as exc:
            return [], list(exc.messages)
        except CapabilityMissing as exc:
            return [], [m.model_copy(update={"level": MessageLevel.INFO}) for m in exc.messages]

    def _fallback(self, account: GuardedCarrier, request: RateRequest, reason: FallbackReason,
                  said: Sequence[CarrierMessage]) -> tuple[list[Rate], list[CarrierMessage]]:
        self.counters.carrier_failures += 1
        messages = [m.model_copy(update={"level": MessageLevel.WARNING}) for m in said]
        rates = self.fallback.rates(request, carrier=account.carrier, account=account.id,
                                    reason=reason.value)
        if rates:
            self.counters.fallbacks_used += 1
            self.counters.fallback_rates += len(rates)
            messages.append(CarrierMessage(
                carrier=account.carrier, code="fallback_rates", level=MessageLevel.WARNING,
                message=f"{account.id} unavailable ({reason.value}): table rates shown instead"))
        else:
            messages.append(CarrierMessage(
                carrier=account.carrier, code="no_fallback_rates", level=MessageLevel.WARNING,
                message=f"{account.id} unavailable ({reason.value}) and no fallback rate"
                        " matches this shipment"))
        return rates, messages

    def _rating_accounts(self, request: RateRequest) -> tuple[list[GuardedCarrier],
                                                                list[CarrierMessage]]:
        serving = self.registry.accounts_for(request.warehouse)
        messages: list[CarrierMessage] = []
        if not request.carriers:
            chosen = serving
        else:
            wanted = set(request.carriers)
            chosen = [a for a in serving if a.id in wanted or a.carrier in wanted]
            for name in request.carriers:
                if not any(name in (a.id, a.carrier) for a in serving):
                    messages.append(CarrierMessage(
                        carrier=name, code="not_configured", level=MessageLevel.WARNING,
                        message=f"{name} does not serve warehouse {request.warehouse}"))
        if not serving:
            messages.append(CarrierMessage(
                carrier=GATEWAY, code="no_carriers", level=MessageLevel.WARNING,
                message=f"no carrier account serves warehouse {request.warehouse}"))
        return chosen, messages

    def _label_account(self, request: LabelRequest) -> GuardedCarrier:
        """The account named by id, or the one account of that carrier code for the warehouse."""
        serving = self.registry.accounts_for(request.warehouse)
        by_id = [a for a in serving if a.id == request.carrier]
        if by_id:
            return by_id[0]
        by_code = [a for a in serving if a.carrier == request.carrier]
        if len(by_code) == 1:
            return by_code[0]
        if by_code:
            raise UnknownCarrierAccount(
                f"warehouse {request.warehouse} has several {request.carrier} accounts"
                f" ({', '.join(a.id for a in by_code)}); name the account id")
        raise UnknownCarrierAccount(
            f"no carrier account {request.carrier!r} serves warehouse {request.warehouse}")

    def _tracking_account(self, name: str) -> GuardedCarrier:
        accounts = self.registry.all()
        for account in accounts:
            if account.id == name:
                return account
        for account in accounts:
            if account.carrier == name and Capability.TRACK in account.capabilities:
                return account
        raise TrackingCarrierNotFound(f"no carrier account or code {name!r} tracks here")


def tag_rates(rates: Sequence[Rate]) -> tuple[list[Rate], list[CarrierMessage]]:
    """Sort by amount and tag cheapest / fastest / best_value (rule in the module docstring)."""
    ordered = sorted(rates, key=lambda r: (r.amount, _days(r)))
    if not ordered:
        return [], []
    currencies = Counter(r.currency for r in ordered)
    top = max(currencies.values())
    currency = next(r.currency for r in ordered if currencies[r.currency] == top)
    pool = [r for r in ordered if r.currency == currency]
    live = [r for r in pool if r.source is RateSource.LIVE]
    pool = live or pool
    tags: dict[int, list[str]] = {}

    def tag(rate: Rate, name: str) -> None:
        tags.setdefault(id(rate), []).append(name)

    cheapest = pool[0]
    tag(cheapest, "cheapest")
    timed = [r for r in pool if r.estimated_transit_days is not None]
    best = cheapest
    if timed:
        fastest = min(timed, key=lambda r: (_days(r), r.amount))
        tag(fastest, "fastest")
        best = next(r for r in timed if _days(r) <= _days(fastest) + 1)
    tag(best, "best_value")
    result = [r.model_copy(update={"tags": tags[id(r)]}) if id(r) in tags else r for r in ordered]
    notes: list[CarrierMessage] = []
    if len(currencies) > 1:
        others = ", ".join(sorted(c for c in currencies if c != currency))
        notes.append(CarrierMessage(
            carrier=GATEWAY, code="mixed_currencies", level=MessageLevel.INFO,
            message=f"tags compare {currency} rates only; rates in {others} are not tagged"))
    return result, notes


async def _never_bought(label_id: str) -> Label | None:
    """The lookup of a carrier whose repeated purchase returns the first label (USPS)."""
    return None


def _days(rate: Rate) -> int:
    # unknown transit time sorts last
    return 10_000 if rate.estimated_transit_days is None else rate.estimated_transit_days
