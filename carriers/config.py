"""The ``[shipping]`` configuration: carrier accounts, breakers, fallback tables, label store.

Credentials inside ``options`` are resolved from ``${ENV}`` by the gateway's loader
before validation; each adapter's builder validates its own options.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from carriers.models import ServiceLevel

_Name = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
# an outbound HTTP proxy, given explicitly: the environment's *_PROXY variables are never read
ProxyUrl = Annotated[str, Field(pattern=r"^https?://[^\s/]+/?$")]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BreakerConfig(_Config):
    window_seconds: Annotated[float, Field(gt=0)] = 30
    minimum_calls: Annotated[int, Field(ge=1)] = 5
    # open when failures / calls in the window reach this rate (with at least minimum_calls)
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    open_seconds: Annotated[float, Field(gt=0)] = 30


class CarrierAccountConfig(_Config):
    id: _Name
    # ups | fedex | usps | dhl_express | sandbox | an ``erp_gateway.carriers`` entry-point name
    carrier: _Name
    # warehouse codes served by this account; "*" serves every warehouse
    warehouses: Annotated[list[_Name | Literal["*"]], Field(min_length=1)]
    options: dict[str, Any] = Field(default_factory=dict)
    breaker: BreakerConfig = BreakerConfig()
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 8


class FallbackRule(_Config):
    """One table-rate row; the most specific matching row wins (see ``carriers.fallback``)."""

    warehouse: _Name | Literal["*"] = "*"
    country: Annotated[str, Field(pattern=r"^([A-Z]{2}|\*)$")]
    postal_prefix: str | None = None
    carrier: _Name | Literal["*"] = "*"
    service: Annotated[str, Field(min_length=1, max_length=60)]
    service_level: ServiceLevel
    # weight band on billable kg: min inclusive, max exclusive (None: no upper bound)
    min_weight_kg: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    max_weight_kg: Annotated[Decimal, Field(gt=0)] | None = None
    price: Annotated[Decimal, Field(ge=0)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    handling_fee: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    # cm³ per kg (5000 is common); None: actual weight only
    dim_divisor: Annotated[Decimal, Field(gt=0)] | None = None
    transit_days: Annotated[int, Field(ge=0)] | None = None

    @field_validator("postal_prefix")
    @classmethod
    def _normalize_prefix(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalized = normalize_postal(value)
        if not normalized:
            raise ValueError("postal_prefix must contain letters or digits (omit it to match all)")
        return normalized

    @model_validator(mode="after")
    def _band_is_not_empty(self) -> FallbackRule:
        if self.max_weight_kg is not None and self.max_weight_kg <= self.min_weight_kg:
            raise ValueError("max_weight_kg must be greater than min_weight_kg")
        return self


class FallbackConfig(_Config):
    rules: list[FallbackRule] = Field(default_factory=list)


class IdempotencyConfig(_Config):
    backend: Literal["sqlite", "redis"] = "sqlite"
    ttl_hours: Annotated[float, Field(gt=0)] = 72
    sqlite_path: str = "gateway-labels.sqlite3"
    # labels outlive idempotency records: reprint and void need them for the carrier's void window
    label_ttl_days: Annotated[float, Field(gt=0)] = 120
    # a claim older than this with no outcome is treated as a crashed purchase
    lease_seconds: Annotated[float, Field(gt=0)] = 60
    # how long a concurrent duplicate waits for the first caller's outcome before a 409
    wait_seconds: Annotated[float, Field(ge=0)] = 10
    redis_key_prefix: str = ""


class ShippingConfig(_Config):
    accounts: list[CarrierAccountConfig] = Field(default_factory=list)
    fallback: FallbackConfig = FallbackConfig()
    rate_shop_deadline_seconds: Annotated[float, Field(gt=0)] = 10
    idempotency: IdempotencyConfig = IdempotencyConfig()

    @model_validator(mode="after")
    def _check_accounts(self) -> ShippingConfig:
        seen: set[str] = set()
        for account in self.accounts:
            if account.id in seen:
                raise ValueError(f"duplicate carrier account id {account.id!r}")
            seen.add(account.id)
            # a purchase (after a lookup) still running when its lease expires would look crashed
            if 2 * account.timeout_seconds >= self.idempotency.lease_seconds:
                raise ValueError(
                    f"account {account.id!r}: twice timeout_seconds ({account.timeout_seconds})"
                    f" must be below idempotency.lease_seconds ({self.idempotency.lease_seconds})")
        return self


def normalize_postal(value: str) -> str:
    """Upper-case, without spaces or dashes: ``"sw1a 1aa"`` and ``"SW1A1AA"`` compare equal."""
    return "".join(ch for ch in value.upper() if ch.isalnum())
