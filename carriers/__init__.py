"""One shipping API over many carriers: a library the gateway assembles.

Map::

    config.py       the [shipping] settings models
    models.py       unified shipping models (what the API speaks), customs included
    customs.py      a carrier's documented customs rules, checked before buying
    units.py        unit conversions and rounding rules for carrier payloads
    base.py         the Carrier protocol and the carrier error tree
    http.py         transport helpers for HTTP adapters
    adapters/       UPS, FedEx, USPS, DHL Express, each split by operation (rate, ship,
                    track, void, error) behind a dispatching mapping.py; images.py turns
                    label images into PDF/PNG
    sandbox.py      a deterministic simulated carrier
    registry.py     accounts from config, each behind its breaker and timeout
    breaker.py      the per-account circuit breaker
    fallback.py     table rates that stand in for an unavailable carrier
    idempotency/    one purchase per Idempotency-Key; the label store (SQLite, Redis)
    service.py      rate-shop, buy, reprint, void, track: what the routes call

Never imports ``gateway``, ``policies`` or ``caching``.
"""

from carriers.base import (
    CapabilityMissing,
    Carrier,
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.breaker import BreakerOpen, BreakerSnapshot, BreakerState, CircuitBreaker
from carriers.config import (
    BreakerConfig,
    CarrierAccountConfig,
    FallbackConfig,
    FallbackRule,
    IdempotencyConfig,
    ShippingConfig,
)
from carriers.fallback import FallbackReason, FallbackTable
from carriers.idempotency import (
    IdempotencyError,
    IdempotencyInProgress,
    IdempotencyMismatch,
    IdempotencyStore,
    IdempotencyUnresolved,
    LabelLookup,
    open_store,
)
from carriers.registry import (
    CarrierConfigError,
    CarrierRegistry,
    GuardedCarrier,
    UnknownCarrierAccount,
)
from carriers.service import LabelNotFound, RateShopResult, ShippingService

__all__ = [
    "BreakerConfig",
    "BreakerOpen",
    "BreakerSnapshot",
    "BreakerState",
    "CapabilityMissing",
    "Carrier",
    "CarrierAccountConfig",
    "CarrierConfigError",
    "CarrierError",
    "CarrierRegistry",
    "CarrierRejected",
    "CarrierTimeout",
    "CarrierUnavailable",
    "CircuitBreaker",
    "FallbackConfig",
    "FallbackReason",
    "FallbackRule",
    "FallbackTable",
    "GuardedCarrier",
    "IdempotencyConfig",
    "IdempotencyError",
    "IdempotencyInProgress",
    "IdempotencyMismatch",
    "IdempotencyStore",
    "IdempotencyUnresolved",
    "LabelLookup",
    "LabelNotFound",
    "RateShopResult",
    "ShippingConfig",
    "ShippingService",
    "UnknownCarrierAccount",
    "open_store",
]
