from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from carriers.idempotency import (
    IdempotencyRecord,
    IdempotencyStore,
    RecordState,
    fingerprint,
)
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.models import Label, LabelFormat, PackageLabel
from tests.carriers.factories import FakeClock, label_request


def record(key: str = "key-1", token: str = "t1", *, now: float | None = None,
           ttl: float = 3600) -> IdempotencyRecord:
    at = time.time() if now is None else now
    return IdempotencyRecord(
        client_id="client-a", key=key, fingerprint=fingerprint(label_request()),
        state=RecordState.IN_PROGRESS, label_id="lbl_1", token=token,
        created_at=at, updated_at=at, expires_at=at + ttl)


def label(label_id: str = "lbl_1") -> Label:
    return Label(id=label_id, carrier="sandbox", carrier_account="sbx", service="ground",
                 tracking_number="SBX000000000001", format=LabelFormat.PDF,
                 packages=[PackageLabel(tracking_number="SBX000000000001", data="JVBERg==")],
                 charge=Decimal("7.25"), currency="USD",
                 created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))


def test_fingerprint_is_canonical_json_of_the_body() -> None:
    request = label_request()
    same = label_request()
    assert fingerprint(request) == fingerprint(same)
    assert fingerprint(request) == fingerprint(request.model_dump(mode="json"))
    assert fingerprint(request) != fingerprint(label_request(service="overnight"))
    assert len(fingerprint(request)) == 64


async def test_only_the_first_claim_is_inserted(label_store: IdempotencyStore) -> None:
    first, won = await label_store.claim(record(token="first"))
    again, won_again = await label_store.claim(record(token="second"))
    assert (won, won_again) == (True, False)
    assert again == first
    assert await label_store.get("client-a", "key-1") == first
    assert await label_store.get("client-b", "key-1") is None


async def test_concurrent_claims_have_exactly_one_winner(label_store: IdempotencyStore) -> None:
    results = await asyncio.gather(*(label_store.claim(record(token=f"t{i}"))
                                     for i in range(50)))
    winners = [stored for stored, won in results if won]
    assert len(winners) == 1
    assert {stored.token for stored, _ in results} == {winners[0].token}


async def test_replace_and_release_compare_the_claim_token(label_store: IdempotencyStore) -> None:
    claimed, _ = await label_store.claim(record(token="mine"))
    done = claimed.model_copy(update={"state": RecordState.COMPLETED, "label": label()})
    assert await label_store.replace(done, expected_token="someone-else") is False
    assert await label_store.replace(done, expected_token="mine") is True
    stored = await label_store.get("client-a", "key-1")
    assert stored is not None and stored.state is RecordState.COMPLETED
    assert stored.label == label()
    assert await label_store.release("client-a", "key-1", expected_token="wrong") is False
    assert await label_store.release("client-a", "key-1", expected_token="mine") is True
    assert await label_store.get("client-a", "key-1") is None


async def test_labels_are_stored_by_id_and_can_be_marked_voided(
        label_store: IdempotencyStore) -> None:
    await label_store.save_label(label())
    assert await label_store.get_label("lbl_1") == label()
    voided = await label_store.mark_voided("lbl_1")
    assert voided is not None and voided.voided is True
    assert await label_store.get_label("lbl_1") == voided
    assert await label_store.get_label("lbl_missing") is None
    assert await label_store.mark_voided("lbl_missing") is None


async def test_sqlite_expired_records_can_be_claimed_again(tmp_path: Path) -> None:
    clock = FakeClock()
    store = SqliteIdempotencyStore(tmp_path / "db.sqlite3", clock=clock)
    try:
        await store.claim(record(token="old", now=clock(), ttl=60))
        clock.advance(61)
        assert await store.get("client-a", "key-1") is None
        stored, won = await store.claim(record(token="new", now=clock(), ttl=60))
        assert won and stored.token == "new"
        assert await store.purge_expired() == 0
    finally:
        await store.aclose()


async def test_sqlite_processes_sharing_one_file_agree_on_one_claim(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    stores = [SqliteIdempotencyStore(path), SqliteIdempotencyStore(path)]
    try:
        results = await asyncio.gather(*(stores[i % 2].claim(record(token=f"t{i}"))
                                         for i in range(40)))
        assert sum(won for _, won in results) == 1
        journal = await asyncio.to_thread(_journal_mode, path)
        assert journal == "wal"
    finally:
        for store in stores:
            await store.aclose()


def _journal_mode(path: Path) -> str:
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()
