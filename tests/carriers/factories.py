"""Builders for shipping requests, accounts and services used across the carrier tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from carriers.base import Carrier
from carriers.config import BreakerConfig, CarrierAccountConfig, FallbackRule
from carriers.idempotency import IdempotencyStore, IdempotentPurchases
from carriers.idempotency.redis_store import RedisIdempotencyStore
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.models import (
    Address,
    Dimensions,
    LabelFormat,
    LabelRequest,
    Parcel,
    RateRequest,
    ServiceLevel,
    WeightUnit,
)
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService


class FakeClock:
    """A settable clock: monotonic for breakers, epoch seconds for idempotency leases."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def address(postal_code: str = "10001", country: str = "US", name: str = "Ada Lovelace") -> Address:
    return Address(name=name, street=["1 Main St"], city="Springfield",
                   postal_code=postal_code, country=country)


def parcel(weight: str = "1.5", unit: WeightUnit = WeightUnit.KG,
           dims: tuple[str, str, str] | None = None) -> Parcel:
    dimensions = None if dims is None else Dimensions(
        length=Decimal(dims[0]), width=Decimal(dims[1]), height=Decimal(dims[2]))
    return Parcel(weight=Decimal(weight), weight_unit=unit, dimensions=dimensions)


def rate_request(*, warehouse: str = "WH1", to_postal: str = "10001", to_country: str = "US",
                 parcels: Sequence[Parcel] | None = None,
                 carriers: Sequence[str] = ()) -> RateRequest:
    return RateRequest(warehouse=warehouse, ship_from=address("60601", name="Warehouse 1"),
                       ship_to=address(to_postal, to_country),
                       parcels=list(parcels or [parcel()]), carriers=list(carriers))


def label_request(*, carrier: str = "sbx", service: str = "ground", warehouse: str = "WH1",
                  reference: str | None = None, fmt: LabelFormat = LabelFormat.PDF,
                  parcels: Sequence[Parcel] | None = None) -> LabelRequest:
    return LabelRequest(warehouse=warehouse, carrier=carrier, service=service,
                        ship_from=address("60601", name="Warehouse 1"), ship_to=address(),
                        parcels=list(parcels or [parcel()]), format=fmt, reference=reference)


def account(account_id: str, *, carrier: str = "sandbox", warehouses: Sequence[str] = ("WH1",),
            timeout: float = 8, minimum_calls: int = 5, failure_rate: float = 0.5,
            open_seconds: float = 30, options: dict[str, Any] | None = None,
            ) -> CarrierAccountConfig:
    return CarrierAccountConfig(
        id=account_id, carrier=carrier, warehouses=list(warehouses), options=options or {},
        timeout_seconds=timeout,
        breaker=BreakerConfig(minimum_calls=minimum_calls, failure_rate=failure_rate,
                              open_seconds=open_seconds))


def rule(service: str = "ground", price: str = "10.00", **fields: Any) -> FallbackRule:
    fields.setdefault("country", "US")
    fields.setdefault("service_level", ServiceLevel.GROUND)
    fields.setdefault("currency", "USD")
    return FallbackRule(service=service, price=Decimal(price), **fields)


def service(accounts: Sequence[tuple[CarrierAccountConfig, Carrier]], store: IdempotencyStore,
            *, rules: Sequence[FallbackRule] = (), deadline: float = 10.0,
            breaker_clock: Callable[[], float] | None = None,
            lease_seconds: float = 60, wait_seconds: float = 10,
            lease_clock: Callable[[], float] | None = None) -> ShippingService:
    registry = (CarrierRegistry(accounts, clock=breaker_clock) if breaker_clock
                else CarrierRegistry(accounts))
    purchases = (IdempotentPurchases(store, lease_seconds=lease_seconds,
                                     wait_seconds=wait_seconds, clock=lease_clock)
                 if lease_clock else
                 IdempotentPurchases(store, lease_seconds=lease_seconds,
                                     wait_seconds=wait_seconds))
    return ShippingService(registry, rules, store, deadline_seconds=deadline,
                           purchases=purchases)


def open_label_store(target: tuple[str, str]) -> IdempotencyStore:
    """A new store instance on the same SQLite file or Redis server: a "restarted" process."""
    backend, where = target
    if backend == "redis":
        return RedisIdempotencyStore.from_url(where)
    return SqliteIdempotencyStore(where)
