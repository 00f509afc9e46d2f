from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from carriers.base import (
    Capability,
    CapabilityMissing,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
)
from carriers.breaker import BreakerOpen
from carriers.idempotency import (
    IdempotencyInProgress,
    IdempotencyMismatch,
    IdempotencyRecord,
    IdempotencyStore,
    IdempotencyUnresolved,
    RecordState,
    fingerprint,
)
from carriers.models import Label, LabelRequest
from carriers.registry import UnknownCarrierAccount
from carriers.sandbox import SandboxCarrier, SandboxOptions
from carriers.service import LabelNotFound, ShippingService, TrackingCarrierNotFound
from carriers.tenancy import Tenant
from tests.carriers.factories import (
    FakeClock,
    account,
    label_request,
    open_label_store,
    service,
)

CLIENT, KEY = Tenant("wms-east"), "order-1001-label"


def sandbox(account_id: str = "sbx", **options: object) -> SandboxCarrier:
    return SandboxCarrier(account_id, SandboxOptions.model_validate(options))


class LosesResponses(SandboxCarrier):
    """Sells the label, then never answers: the response is lost on the way back."""

    lose = True

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        label = await super().purchase(request, label_id)
        if self.lose:
            await asyncio.Event().wait()
        return label


class Gate(SandboxCarrier):
    """Purchases wait until the test opens the gate."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        self.entered.set()
        await self.gate.wait()
        return await super().purchase(request, label_id)


def one_account(carrier: SandboxCarrier, store: IdempotencyStore, *, timeout: float = 8,
                lease_clock: FakeClock | None = None,
                wait_seconds: float = 10) -> ShippingService:
    config = account(carrier.id, timeout=timeout, minimum_calls=2)
    return service([(config, carrier)], store, lease_clock=lease_clock,
                   wait_seconds=wait_seconds)


async def leave_crashed_claim(store: IdempotencyStore, request: LabelRequest, label_id: str,
                              at: float) -> None:
    """What a process that died after claiming (and maybe after buying) leaves behind."""
    stale = IdempotencyRecord(
        client_id=CLIENT.key, key=KEY, fingerprint=fingerprint(request),
        state=RecordState.IN_PROGRESS, label_id=label_id, token="dead-process",
        created_at=at, updated_at=at, expires_at=at + 72 * 3600)
    _, won = await store.claim(stale)
    assert won


async def test_label_purchase_is_not_repeated_for_concurrent_duplicates(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    shipping = one_account(carrier, label_store)
    request = label_request()
    labels = await asyncio.gather(*(shipping.buy_label(CLIENT, KEY, request)
                                    for _ in range(200)))
    assert carrier.purchase_count == 1
    assert all(label == labels[0] for label in labels)
    assert shipping.counters.purchases == 1
    assert shipping.counters.replays == 199
    assert await shipping.get_label(labels[0].id, CLIENT) == labels[0]
    assert shipping.purchases.waiters() == 0


async def test_replay_returns_the_identical_label(label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    shipping = one_account(carrier, label_store)
    first = await shipping.buy_label(CLIENT, KEY, label_request())
    again = await shipping.buy_label(CLIENT, KEY, label_request())
    assert again == first
    other_client = await shipping.buy_label(Tenant("wms-west"), KEY, label_request())
    assert other_client.id != first.id
    assert carrier.purchase_count == 2


async def test_same_key_with_a_different_body_is_a_mismatch(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    shipping = one_account(carrier, label_store)
    await shipping.buy_label(CLIENT, KEY, label_request())
    with pytest.raises(IdempotencyMismatch):
        await shipping.buy_label(CLIENT, KEY, label_request(service="overnight"))
    assert carrier.purchase_count == 1


async def test_retry_after_a_crash_finds_the_bought_label_instead_of_buying_again(
        label_store: IdempotencyStore, label_store_target: tuple[str, str]) -> None:
    carrier = sandbox()  # the carrier outlives our process
    request = label_request()
    clock = FakeClock(time.time())
    await leave_crashed_claim(label_store, request, "lbl_crashed", clock())
    sold = await carrier.purchase(request, "lbl_crashed")  # went through before the crash
    clock.advance(61)
    restarted_store = open_label_store(label_store_target)
    try:
        restarted = one_account(carrier, restarted_store, lease_clock=clock)
        label = await restarted.buy_label(CLIENT, KEY, request)
        assert label == sold
        assert carrier.purchase_count == 1
        assert restarted.counters.recoveries == 1
        assert await restarted.buy_label(CLIENT, KEY, request) == sold
        assert carrier.purchase_count == 1
    finally:
        await restarted_store.aclose()


async def test_retry_after_a_crash_before_the_sale_buys_once_under_the_same_label_id(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    request = label_request()
    clock = FakeClock(time.time())
    await leave_crashed_claim(label_store, request, "lbl_crashed", clock())
    clock.advance(61)
    shipping = one_account(carrier, label_store, lease_clock=clock)
    label = await shipping.buy_label(CLIENT, KEY, request)
    assert label.id == "lbl_crashed"
    assert carrier.purchase_count == 1
    assert carrier.calls["find_label"] == 1


async def test_concurrent_retries_after_a_crash_take_the_record_over_once(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    request = label_request()
    clock = FakeClock(time.time())
    await leave_crashed_claim(label_store, request, "lbl_crashed", clock())
    clock.advance(61)
    shipping = one_account(carrier, label_store, lease_clock=clock)
    labels = await asyncio.gather(*(shipping.buy_label(CLIENT, KEY, request)
                                    for _ in range(20)))
    assert {label.id for label in labels} == {"lbl_crashed"}
    assert carrier.purchase_count == 1
    assert carrier.calls["find_label"] == 1


async def test_account_that_cannot_buy_labels_fails_before_any_claim(
        label_store: IdempotencyStore) -> None:
    class TrackOnly(SandboxCarrier):
        capabilities = frozenset({Capability.TRACK})

    shipping = one_account(TrackOnly("sbx"), label_store)
    with pytest.raises(CapabilityMissing):
        await shipping.buy_label(CLIENT, KEY, label_request())
    assert await label_store.get(CLIENT.key, KEY) is None


async def test_crashed_purchase_at_a_carrier_that_cannot_be_asked_needs_an_operator(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox(supports_lookup=False)
    request = label_request()
    clock = FakeClock(time.time())
    await leave_crashed_claim(label_store, request, "lbl_crashed", clock())
    clock.advance(61)
    shipping = one_account(carrier, label_store, lease_clock=clock)
    for _ in range(2):
        with pytest.raises(IdempotencyUnresolved) as caught:
            await shipping.buy_label(CLIENT, KEY, request)
    assert caught.value.label_id == "lbl_crashed"
    assert carrier.calls["purchase"] == 0
    stored = await label_store.get(CLIENT.key, KEY)
    assert stored is not None and stored.state is RecordState.UNKNOWN


async def test_duplicate_gets_in_progress_while_the_claim_is_fresh(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    request = label_request()
    clock = FakeClock(time.time())
    await leave_crashed_claim(label_store, request, "lbl_busy", clock())
    clock.advance(10)
    shipping = one_account(carrier, label_store, lease_clock=clock, wait_seconds=0)
    with pytest.raises(IdempotencyInProgress) as caught:
        await shipping.buy_label(CLIENT, KEY, request)
    assert 1 <= caught.value.retry_after <= 10
    assert carrier.calls["purchase"] == 0


async def test_lost_response_is_recovered_on_retry_without_a_second_purchase(
        label_store: IdempotencyStore) -> None:
    carrier = LosesResponses("sbx")
    shipping = one_account(carrier, label_store, timeout=0.02)
    request = label_request()
    with pytest.raises(CarrierTimeout):
        await shipping.buy_label(CLIENT, KEY, request)
    stored = await label_store.get(CLIENT.key, KEY)
    assert stored is not None and stored.state is RecordState.UNKNOWN
    carrier.lose = False
    label = await shipping.buy_label(CLIENT, KEY, request)
    assert label.id == stored.label_id
    assert carrier.purchase_count == 1
    assert shipping.counters.recoveries == 1


async def test_lost_response_at_a_carrier_that_cannot_be_asked_is_never_bought_again(
        label_store: IdempotencyStore) -> None:
    carrier = LosesResponses("sbx", SandboxOptions(supports_lookup=False))
    shipping = one_account(carrier, label_store, timeout=0.02)
    with pytest.raises(CarrierTimeout):
        await shipping.buy_label(CLIENT, KEY, label_request())
    carrier.lose = False
    with pytest.raises(IdempotencyUnresolved):
        await shipping.buy_label(CLIENT, KEY, label_request())
    assert carrier.purchase_count == 1


async def test_carrier_refusal_is_replayed_for_the_same_key(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox(fail_with="4xx")
    shipping = one_account(carrier, label_store)
    with pytest.raises(CarrierRejected) as first:
        await shipping.buy_label(CLIENT, KEY, label_request())
    carrier.options = SandboxOptions()
    with pytest.raises(CarrierRejected) as again:
        await shipping.buy_label(CLIENT, KEY, label_request())
    assert again.value.messages == first.value.messages
    assert again.value.status_code == 400
    assert carrier.calls["purchase"] == 1


async def test_label_purchase_with_the_breaker_open_buys_nothing(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox(fail_with="5xx")
    clock = FakeClock()
    shipping = service([(account("sbx", minimum_calls=2), carrier)], label_store,
                       breaker_clock=clock)
    for key in ("k1", "k2"):
        with pytest.raises(CarrierUnavailable):
            await shipping.buy_label(CLIENT, key, label_request())
    calls_before = carrier.calls["purchase"]
    carrier.options = SandboxOptions()
    with pytest.raises(BreakerOpen) as caught:
        await shipping.buy_label(CLIENT, KEY, label_request())
    assert caught.value.retry_after == 30
    assert carrier.calls["purchase"] == calls_before
    assert carrier.purchase_count == 0
    stored = await label_store.get(CLIENT.key, KEY)  # nothing bought: a later request may buy
    assert stored is not None and stored.state is RecordState.RETRYABLE
    clock.advance(30)
    label = await shipping.buy_label(CLIENT, KEY, label_request())
    assert carrier.purchase_count == 1 and label.carrier_account == "sbx"
    assert carrier.calls["find_label"] == 0  # a retryable record needs no lookup


async def test_carrier_503_releases_the_claim_so_the_same_key_can_buy_later(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox(fail_with="5xx")
    shipping = one_account(carrier, label_store)
    with pytest.raises(CarrierUnavailable) as caught:
        await shipping.buy_label(CLIENT, KEY, label_request())
    assert caught.value.status_code == 503
    carrier.options = SandboxOptions()
    await shipping.buy_label(CLIENT, KEY, label_request())
    assert carrier.purchase_count == 1


class FailsAtTheGate(Gate):
    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        self.calls["purchase"] += 1
        self.entered.set()
        await self.gate.wait()
        raise CarrierUnavailable("sandbox", [], status_code=503)


async def test_duplicates_waiting_on_a_503_get_the_same_error_without_more_calls(
        label_store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    carrier = FailsAtTheGate("sbx")
    shipping = one_account(carrier, label_store)
    all_waiting, lost = asyncio.Event(), 0
    original_claim = label_store.claim

    async def claim(record: IdempotencyRecord) -> tuple[IdempotencyRecord, bool]:
        nonlocal lost
        stored, won = await original_claim(record)
        lost += not won
        if lost == 50:  # every duplicate found the first caller's claim
            all_waiting.set()
        return stored, won

    monkeypatch.setattr(label_store, "claim", claim)
    first = asyncio.create_task(shipping.buy_label(CLIENT, KEY, label_request()))
    await carrier.entered.wait()
    duplicates = [asyncio.create_task(shipping.buy_label(CLIENT, KEY, label_request()))
                  for _ in range(50)]
    await all_waiting.wait()
    carrier.gate.set()
    results = await asyncio.gather(first, *duplicates, return_exceptions=True)
    assert all(isinstance(r, CarrierUnavailable) and r.status_code == 503 for r in results)
    assert carrier.calls["purchase"] == 1


async def test_a_caller_that_goes_away_does_not_strand_the_purchase(
        label_store: IdempotencyStore) -> None:
    carrier = Gate("sbx")
    shipping = one_account(carrier, label_store)
    first = asyncio.create_task(shipping.buy_label(CLIENT, KEY, label_request()))
    await carrier.entered.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    carrier.gate.set()
    label = await shipping.buy_label(CLIENT, KEY, label_request())
    assert carrier.purchase_count == 1
    stored = await label_store.get(CLIENT.key, KEY)
    assert stored is not None and stored.state is RecordState.COMPLETED
    assert stored.label == label


async def test_label_account_is_chosen_by_id_or_by_a_unique_carrier_code(
        label_store: IdempotencyStore) -> None:
    one, two = sandbox("sbx-1"), sandbox("sbx-2")
    shipping = service([(account("sbx-1"), one), (account("sbx-2", warehouses=["WH2"]), two)],
                       label_store)
    by_code = await shipping.buy_label(CLIENT, "k1", label_request(carrier="sandbox"))
    assert by_code.carrier_account == "sbx-1"
    with pytest.raises(UnknownCarrierAccount):
        await shipping.buy_label(CLIENT, "k2", label_request(carrier="sbx-2"))
    both = service([(account("sbx-1"), one), (account("sbx-2"), two)], label_store)
    with pytest.raises(UnknownCarrierAccount, match="several"):
        await both.buy_label(CLIENT, "k3", label_request(carrier="sandbox"))


async def test_void_marks_the_label_voided_and_reports_refusals_honestly(
        label_store: IdempotencyStore) -> None:
    now = datetime(2025, 3, 3, 12, tzinfo=UTC)
    carrier = SandboxCarrier("sbx", now=lambda: now)
    shipping = one_account(carrier, label_store)
    label = await shipping.buy_label(CLIENT, KEY, label_request())
    result = await shipping.void_label(label.id, CLIENT)
    assert result.voided is True
    assert (await shipping.get_label(label.id, CLIENT)).voided is True
    assert (await shipping.void_label(label.id, CLIENT)).message == "already voided"
    assert carrier.calls["void"] == 1

    late = await shipping.buy_label(CLIENT, "k-late", label_request())
    now += timedelta(days=2)
    refused = await shipping.void_label(late.id, CLIENT)
    assert refused.voided is False and refused.message
    assert (await shipping.get_label(late.id, CLIENT)).voided is False
    assert shipping.counters.snapshot()["void_refusals"] == 1


async def test_void_rejected_by_the_carrier_is_a_refusal_not_an_error(
        label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    shipping = one_account(carrier, label_store)
    label = await shipping.buy_label(CLIENT, KEY, label_request())
    carrier.options = SandboxOptions(fail_with="4xx")
    result = await shipping.void_label(label.id, CLIENT)
    assert result.voided is False
    assert result.message is not None and "simulated rejection" in result.message


async def test_unknown_label_is_not_found(label_store: IdempotencyStore) -> None:
    shipping = one_account(sandbox(), label_store)
    with pytest.raises(LabelNotFound):
        await shipping.get_label("lbl_nope", CLIENT)
    with pytest.raises(LabelNotFound):
        await shipping.void_label("lbl_nope", CLIENT)


async def test_track_by_account_id_or_carrier_code(label_store: IdempotencyStore) -> None:
    carrier = sandbox()
    shipping = one_account(carrier, label_store)
    label = await shipping.buy_label(CLIENT, KEY, label_request())
    by_account = await shipping.track("sbx", label.tracking_number)
    by_code = await shipping.track("sandbox", label.tracking_number)
    assert by_account == by_code
    assert by_account.tracking_number == label.tracking_number
    with pytest.raises(TrackingCarrierNotFound):
        await shipping.track("pigeon", label.tracking_number)
