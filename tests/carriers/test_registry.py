from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

import pytest

from carriers import registry as registry_module
from carriers.base import (
    Capability,
    CapabilityMissing,
    Carrier,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.breaker import BreakerState
from carriers.registry import (
    CarrierConfigError,
    CarrierRegistry,
    UnknownCarrierAccount,
    resolve_builder,
)
from carriers.sandbox import SandboxCarrier, SandboxOptions
from tests.carriers.factories import account, label_request, rate_request


class TrackOnly(SandboxCarrier):
    capabilities = frozenset({Capability.TRACK})


def acme_build(account_id: str, options: Mapping[str, Any]) -> Carrier:
    """A third-party adapter's build callable, reached through an entry point."""
    return TrackOnly(account_id, SandboxOptions.model_validate(dict(options)))


class Broken(SandboxCarrier):
    async def rate(self, request: Any) -> Any:
        raise KeyError("total")  # a mapping bug in an adapter

    async def aclose(self) -> None:
        self.closed = True


def test_from_config_builds_sandbox_accounts_and_groups_them_by_warehouse() -> None:
    registry = CarrierRegistry.from_config([
        account("sbx-1", warehouses=["WH1", "WH2"]),
        account("sbx-2", warehouses=["WH2"], options={"currency": "EUR"}),
        account("sbx-all", warehouses=["*"]),
    ])
    assert [a.id for a in registry.accounts_for("WH1")] == ["sbx-1", "sbx-all"]
    assert [a.id for a in registry.accounts_for("WH2")] == ["sbx-1", "sbx-2", "sbx-all"]
    assert [a.id for a in registry.accounts_for("WH9")] == ["sbx-all"]
    inner = registry.get("sbx-2").inner
    assert isinstance(inner, SandboxCarrier) and inner.options.currency == "EUR"
    assert registry.get("sbx-1").supports_lookup is True


def test_unknown_account_id_raises_unknown_carrier_account() -> None:
    registry = CarrierRegistry.from_config([account("sbx-1")])
    with pytest.raises(UnknownCarrierAccount, match="nope"):
        registry.get("nope")


def test_unknown_carrier_code_names_the_account() -> None:
    with pytest.raises(CarrierConfigError, match="'acme-1'.*'acme'.*unknown carrier code"):
        CarrierRegistry.from_config([account("acme-1", carrier="acme")])


def test_bad_adapter_options_name_the_account() -> None:
    with pytest.raises(CarrierConfigError, match="'sbx-1'.*invalid options"):
        CarrierRegistry.from_config([account("sbx-1", options={"latency": 3})])


def test_builtin_adapter_is_imported_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry_module.BUILTIN_ADAPTERS, "ups",
                        "carriers.adapters.not_written_yet:build")
    CarrierRegistry.from_config([account("sbx-1")])
    with pytest.raises(CarrierConfigError, match="'ups-main'.*cannot be loaded"):
        CarrierRegistry.from_config([account("sbx-1"), account("ups-main", carrier="ups")])


def test_third_party_adapters_plug_in_through_entry_points(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = metadata.EntryPoint(name="acme", value=f"{__name__}:acme_build",
                                group=registry_module.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry_module, "_entry_points", lambda: [entry])
    assert resolve_builder("acme", account_id="acme-1") is acme_build
    registry = CarrierRegistry.from_config([account("acme-1", carrier="acme")])
    assert isinstance(registry.get("acme-1").inner, TrackOnly)


def test_builder_override_for_embedding() -> None:
    registry = CarrierRegistry.from_config([account("x-1", carrier="acme")],
                                           builders={"acme": acme_build})
    assert registry.get("x-1").capabilities == frozenset({Capability.TRACK})


async def test_missing_capability_fails_without_touching_the_breaker() -> None:
    registry = CarrierRegistry([(account("t-1"), TrackOnly("t-1"))])
    guarded = registry.get("t-1")
    with pytest.raises(CapabilityMissing):
        await guarded.rate(rate_request())
    with pytest.raises(CapabilityMissing):
        await guarded.purchase(label_request(), "lbl_1")
    assert guarded.breaker.snapshot().calls == 0


async def test_hanging_carrier_times_out_within_its_budget_and_counts_as_failure() -> None:
    hanging = SandboxCarrier("sbx-1", SandboxOptions(hang=True))
    registry = CarrierRegistry([(account("sbx-1", timeout=0.02, minimum_calls=2), hanging)])
    guarded = registry.get("sbx-1")
    for _ in range(2):
        with pytest.raises(CarrierTimeout) as caught:
            await guarded.rate(rate_request())
    assert caught.value.messages[0].code == "timeout"
    assert guarded.breaker.state is BreakerState.OPEN
    assert hanging.calls["rate"] == 2


async def test_adapter_bug_becomes_carrier_unavailable() -> None:
    broken = Broken("b-1")
    registry = CarrierRegistry([(account("b-1"), broken)])
    with pytest.raises(CarrierUnavailable) as caught:
        await registry.get("b-1").rate(rate_request())
    assert caught.value.messages[0].code == "adapter_error"
    assert isinstance(caught.value.__cause__, KeyError)
    states = registry.breaker_states()
    assert [(s.account, s.failures) for s in states] == [("b-1", 1)]
    await registry.aclose()
    assert broken.closed is True


def test_duplicate_account_ids_are_refused() -> None:
    with pytest.raises(CarrierConfigError, match="twice"):
        CarrierRegistry([(account("a"), SandboxCarrier("a")), (account("a"), SandboxCarrier("a"))])
