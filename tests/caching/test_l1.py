from __future__ import annotations

from caching.entry import Entry
from caching.l1 import L1Cache
from tests.caching.conftest import FakeClock


def entry(*tags: str, at: float = 0.0) -> Entry:
    return Entry(b"x", at, tags)


def test_entries_expire_on_their_own_ttl(clock: FakeClock) -> None:
    l1 = L1Cache(10, clock.mono)
    l1.set(("inventory", "short"), entry(), ttl=5)
    l1.set(("prices", "long"), entry(), ttl=60)
    clock.advance(5)
    assert l1.get(("inventory", "short")) is None
    assert l1.get(("prices", "long")) is not None


def test_invalidate_by_tag_drops_only_tagged_entries(clock: FakeClock) -> None:
    l1 = L1Cache(10, clock.mono)
    l1.set(("prices", "C1|A|1"), entry("sku:A", "customer:C1"), ttl=60)
    l1.set(("prices", "C2|A|1"), entry("sku:A", "customer:C2"), ttl=60)
    l1.set(("prices", "C1|B|1"), entry("sku:B", "customer:C1"), ttl=60)
    assert l1.invalidate_tags(["customer:C1"]) == 2
    assert l1.get(("prices", "C2|A|1")) is not None
    assert len(l1) == 1


def test_replacing_an_entry_replaces_its_tags(clock: FakeClock) -> None:
    l1 = L1Cache(10, clock.mono)
    l1.set(("inventory", "A"), entry("old"), ttl=60)
    l1.set(("inventory", "A"), entry("new"), ttl=60)
    assert l1.invalidate_tags(["old"]) == 0
    assert l1.invalidate_tags(["new"]) == 1


def test_lru_eviction_and_expiry_keep_the_tag_index_small(clock: FakeClock) -> None:
    l1 = L1Cache(2, clock.mono)
    for i in range(5):
        l1.set(("inventory", f"K{i}"), entry(f"sku:K{i}"), ttl=10)
    assert len(l1) == 2
    assert set(l1._by_tag) == {"sku:K3", "sku:K4"}
    clock.advance(11)
    l1.set(("inventory", "K9"), entry("sku:K9"), ttl=10)  # insertion sweeps the expired
    assert set(l1._by_tag) == {"sku:K9"}


def test_offer_keeps_the_newer_entry(clock: FakeClock) -> None:
    l1 = L1Cache(10, clock.mono)
    newer = entry(at=20.0)
    l1.set(("inventory", "A"), newer, ttl=60)
    assert l1.offer(("inventory", "A"), entry(at=10.0), ttl=60) is newer
    newest = entry(at=30.0)
    assert l1.offer(("inventory", "A"), newest, ttl=60) is newest


def test_non_positive_ttl_removes(clock: FakeClock) -> None:
    l1 = L1Cache(10, clock.mono)
    l1.set(("inventory", "A"), entry("t"), ttl=60)
    l1.set(("inventory", "A"), entry("t"), ttl=0)
    assert l1.get(("inventory", "A")) is None and len(l1) == 0
