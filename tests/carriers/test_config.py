from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

import carriers
from carriers.config import ShippingConfig
from carriers.fallback import FallbackReason
from carriers.idempotency import open_store
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.models import RateSource
from carriers.registry import CarrierRegistry
from carriers.service import ShippingService
from carriers.tenancy import Tenant
from tests.carriers.factories import label_request, rate_request

EXAMPLE = """
[shipping]
rate_shop_deadline_seconds = 6

[shipping.idempotency]
backend = "sqlite"
sqlite_path = "gateway-labels.sqlite3"
ttl_hours = 72

[[shipping.accounts]]
id = "sandbox-east"
carrier = "sandbox"
warehouses = ["WH1", "WH2"]
timeout_seconds = 5
options = { latency_ms = 0, error_rate = 0.0, fail_with = "none" }
breaker = { window_seconds = 30, minimum_calls = 5, failure_rate = 0.5, open_seconds = 30 }

[[shipping.fallback.rules]]
warehouse = "*"
country = "US"
service = "ground"
service_level = "ground"
min_weight_kg = 0
max_weight_kg = 10
price = 12.50
currency = "USD"
handling_fee = 1.00
dim_divisor = 5000
transit_days = 5

[[shipping.fallback.rules]]
warehouse = "WH1"
country = "US"
postal_prefix = "100"
carrier = "sandbox"
service = "ground"
service_level = "ground"
min_weight_kg = 0
max_weight_kg = 10
price = 9.75
currency = "USD"
transit_days = 3
"""


def shipping_config(text: str = EXAMPLE) -> ShippingConfig:
    return ShippingConfig.model_validate(tomllib.loads(text)["shipping"])


def test_example_config_parses_with_defaults() -> None:
    config = shipping_config()
    (sandbox,) = config.accounts
    assert sandbox.timeout_seconds == 5
    assert sandbox.breaker.minimum_calls == 5
    assert config.idempotency.lease_seconds == 60
    assert config.fallback.rules[0].dim_divisor == Decimal(5000)
    assert config.fallback.rules[1].postal_prefix == "100"


def test_unknown_fields_fail_with_their_path() -> None:
    with pytest.raises(ValidationError, match=r"accounts\.0\.breaker\.open_secs"):
        shipping_config(EXAMPLE.replace("open_seconds = 30", "open_secs = 30"))


def test_timeouts_must_stay_below_the_idempotency_lease() -> None:
    with pytest.raises(ValidationError, match="lease_seconds"):
        shipping_config(EXAMPLE.replace("timeout_seconds = 5", "timeout_seconds = 60"))


def test_account_ids_are_unique() -> None:
    accounts = tomllib.loads(EXAMPLE)["shipping"]["accounts"]
    with pytest.raises(ValidationError, match="duplicate"):
        ShippingConfig.model_validate({"accounts": accounts * 2})


def test_redis_backend_needs_a_client() -> None:
    config = shipping_config(EXAMPLE.replace('backend = "sqlite"', 'backend = "redis"'))
    with pytest.raises(ValueError, match="Redis client"):
        open_store(config.idempotency)


async def test_service_from_config_rates_and_buys_with_the_sandbox(tmp_path: Path) -> None:
    config = shipping_config()
    store = open_store(config.idempotency.model_copy(
        update={"sqlite_path": str(tmp_path / "labels.sqlite3")}))
    assert isinstance(store, SqliteIdempotencyStore)
    shipping = ShippingService.from_config(config, CarrierRegistry.from_config(config.accounts),
                                           store)
    try:
        assert shipping.deadline_seconds == 6
        result = await shipping.rate_shop(rate_request())
        assert len(result.rates) == 4
        fallback = shipping.fallback.rates(rate_request(), carrier="sandbox",
                                           account="sandbox-east",
                                           reason=FallbackReason.BREAKER_OPEN.value)
        assert [(r.amount, r.source) for r in fallback] == [(Decimal("9.75"), RateSource.FALLBACK)]
        label = await shipping.buy_label(Tenant("client"), "key",
                                         label_request(carrier="sandbox-east"))
        assert label.carrier_account == "sandbox-east"
        states = shipping.breaker_states()
        assert states[0]["account"] == "sandbox-east" and states[0]["state"] == "closed"
    finally:
        await shipping.aclose()


def test_public_surface_is_pinned() -> None:
    assert sorted(carriers.__all__) == [
        "BreakerConfig", "BreakerOpen", "BreakerSnapshot", "BreakerState", "CapabilityMissing",
        "Carrier", "CarrierAccountConfig", "CarrierConfigError", "CarrierError",
        "CarrierRegistry", "CarrierRejected", "CarrierTimeout", "CarrierUnavailable",
        "CircuitBreaker", "FallbackConfig", "FallbackReason", "FallbackRule", "FallbackTable",
        "GuardedCarrier", "IdempotencyConfig", "IdempotencyError", "IdempotencyInProgress",
        "IdempotencyMismatch", "IdempotencyStore", "IdempotencyUnresolved", "LabelLookup",
        "LabelNotFound", "RateShopResult", "ShippingConfig", "ShippingService",
        "UnknownCarrierAccount", "open_store",
    ]
    assert all(hasattr(carriers, name) for name in carriers.__all__)


def test_carriers_never_imports_the_gateway_layers() -> None:
    sources = Path(carriers.__file__).parent.glob("*.py")
    for source in sources:
        text = source.read_text()
        for layer in ("gateway", "policies", "caching"):
            assert f"import {layer}" not in text and f"from {layer}" not in text, source
