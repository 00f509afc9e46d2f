"""International labels through the service: refusals before any record, the carrier key
kept on the record across retries, and shipments undone by an adapter bought again."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import Decimal

import pytest

from carriers.base import CarrierRejected, CarrierTimeout, PurchaseUndone
from carriers.idempotency import IdempotencyStore, IdempotencyUnresolved, RecordState
from carriers.models import (
    Address,
    CarrierMessage,
    ChargeKind,
    Customs,
    CustomsItem,
    DocumentKind,
    Label,
    LabelRequest,
    Rate,
    RateRequest,
    Tracking,
    VoidResult,
)
from carriers.sandbox import SandboxCarrier
from carriers.tenancy import Tenant
from tests.carriers.factories import account, address, label_request, rate_request, service

CLIENT, KEY = Tenant("wms-east"), "intl-1"
MONTREAL = Address(name="Élodie Gagnon", street=["1000 Rue De La Gauchetière O"],
                   city="Montréal", state="QC", postal_code="H3B 4W5", country="CA",
                   phone="+1 514 555 0100")
CUSTOMS = Customs(items=[CustomsItem(description="Ceramic mug", quantity=6,
                                     unit_value=Decimal("9.50"), currency="USD",
                                     net_weight=Decimal("0.35"), hs_code="6912.00",
                                     origin_country="US")])


def international(**changes: object) -> LabelRequest:
    sender = address("60601", name="Warehouse 1").model_copy(update={"phone": "3125550100"})
    return label_request().model_copy(update={
        "ship_from": sender, "ship_to": MONTREAL, "customs": CUSTOMS, **changes})


class Keyed:
    """A carrier without a lookup whose purchase is idempotent on the carrier key (as USPS
    documents X-Idempotency-Key); the first ``lose`` answers are lost on the way back."""

    repeatable_purchase = True

    def __init__(self, account_id: str, *, lose: int = 0) -> None:
        self.inner = SandboxCarrier(account_id)
        self.id, self.carrier = account_id, "keyed"
        self.capabilities = self.inner.capabilities
        self.keys: list[str | None] = []
        self.lose = lose
        self.by_key: dict[str, Label] = {}

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        self.keys.append(carrier_key)
        assert carrier_key is not None
        label = self.by_key.get(carrier_key) or await self.inner.purchase(request, label_id)
        self.by_key[carrier_key] = label
        if self.lose:
            self.lose -= 1
            raise CarrierTimeout(self.carrier, [CarrierMessage(
                carrier=self.carrier, code="timeout", message="answer lost")])
        return label

    async def rate(self, request: RateRequest) -> list[Rate]:
        return await self.inner.rate(request)

    async def void(self, label: Label) -> VoidResult:
        return await self.inner.void(label)

    async def track(self, tracking_number: str) -> Tracking:
        return await self.inner.track(tracking_number)

    async def aclose(self) -> None:
        return None


class UndoesOnce(SandboxCarrier):
    """The first purchase is created, unusable, and voided again by the adapter."""

    def __init__(self, account_id: str) -> None:
        super().__init__(account_id)
        self.attempts: Counter[str] = Counter()

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        self.attempts[label_id] += 1
        if self.attempts[label_id] == 1:
            raise PurchaseUndone(self.carrier, [CarrierMessage(
                carrier=self.carrier, code="shipment_voided", message="voided again")])
        return await super().purchase(request, label_id)


async def test_a_refused_international_label_claims_no_record(
        label_store: IdempotencyStore) -> None:
    carrier = SandboxCarrier("sbx")
    shipping = service([(account("sbx"), carrier)], label_store)

    with pytest.raises(CarrierRejected) as caught:
        await shipping.buy_label(CLIENT, KEY, international(customs=None))

    assert caught.value.messages[0].field == "customs"
    assert await label_store.get(CLIENT.key, KEY) is None
    assert carrier.calls["purchase"] == 0
    # fixed, the same key buys
    label = await shipping.buy_label(CLIENT, KEY, international())
    assert [d.kind for d in label.documents] == [DocumentKind.COMMERCIAL_INVOICE]


async def test_the_carrier_key_is_a_random_uuid_kept_across_our_retries(
        label_store: IdempotencyStore) -> None:
    carrier = Keyed("sbx", lose=1)
    shipping = service([(account("sbx"), carrier)], label_store)

    with pytest.raises(CarrierTimeout):
        await shipping.buy_label(CLIENT, KEY, international())
    record = await label_store.get(CLIENT.key, KEY)
    assert record is not None and record.state is RecordState.UNKNOWN
    assert record.carrier_key is not None and uuid.UUID(record.carrier_key).version == 4

    # the retry resolves the unknown outcome by buying again with the same key
    label = await shipping.buy_label(CLIENT, KEY, international())

    assert carrier.keys == [record.carrier_key, record.carrier_key]
    assert carrier.inner.purchase_count == 1  # the carrier sold one label
    assert label.id == record.label_id
    other = await shipping.buy_label(CLIENT, "intl-2", international())
    assert carrier.keys[-1] != record.carrier_key and other.id != label.id


async def test_without_a_repeatable_purchase_an_unknown_outcome_stays_unresolved(
        label_store: IdempotencyStore) -> None:
    carrier = Keyed("sbx", lose=1)
    carrier.repeatable_purchase = False
    shipping = service([(account("sbx"), carrier)], label_store)

    with pytest.raises(CarrierTimeout):
        await shipping.buy_label(CLIENT, KEY, international())
    with pytest.raises(IdempotencyUnresolved):
        await shipping.buy_label(CLIENT, KEY, international())
    assert len(carrier.keys) == 1


async def test_a_purchase_the_adapter_undid_is_bought_on_the_next_retry(
        label_store: IdempotencyStore) -> None:
    carrier = UndoesOnce("sbx")
    shipping = service([(account("sbx"), carrier)], label_store)

    with pytest.raises(PurchaseUndone):
        await shipping.buy_label(CLIENT, KEY, international())
    record = await label_store.get(CLIENT.key, KEY)
    assert record is not None and record.state is RecordState.RETRYABLE

    label = await shipping.buy_label(CLIENT, KEY, international())

    assert carrier.purchase_count == 1 and label.id == record.label_id


async def test_rating_across_borders_shows_simulated_duties_apart(
        label_store: IdempotencyStore) -> None:
    shipping = service([(account("sbx"), SandboxCarrier("sbx"))], label_store)
    request = rate_request(to_postal="H3B 4W5", to_country="CA").model_copy(
        update={"customs": CUSTOMS})

    result = await shipping.rate_shop(request)

    [duties, taxes] = result.rates[0].charges
    assert (duties.kind, duties.amount) == (ChargeKind.DUTIES, Decimal("2.85"))
    # 20% of 57.00 + 2.85
    assert (taxes.kind, taxes.amount) == (ChargeKind.TAXES, Decimal("11.97"))
    assert all(rate.amount < Decimal(100) for rate in result.rates)
