"""Label stores keep each label's owner, and read labels written before owners were kept."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from carriers.idempotency import IdempotencyStore, StoredLabel
from carriers.idempotency.redis_store import RedisIdempotencyStore
from carriers.idempotency.sqlite_store import SqliteIdempotencyStore
from carriers.tenancy import LabelOwner, Tenant
from tests.carriers.test_idempotency_stores import label, record

# the schema as the first release wrote it (no owner columns)
_FIRST_SCHEMA = """
CREATE TABLE idempotency_records (
    client_id TEXT NOT NULL, idem_key TEXT NOT NULL, token TEXT NOT NULL,
    state TEXT NOT NULL, label_id TEXT NOT NULL, record TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, expires_at REAL NOT NULL,
    PRIMARY KEY (client_id, idem_key)) WITHOUT ROWID;
CREATE TABLE labels (
    label_id TEXT PRIMARY KEY, label TEXT NOT NULL,
    created_at REAL NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
"""


async def test_a_label_keeps_its_owner_through_void_and_a_second_save(
        label_store: IdempotencyStore) -> None:
    owner = LabelOwner("ext:https%3A%2F%2Fidp:wms-a", "WH-EAST")
    await label_store.save_label(label(), owner)
    await label_store.mark_voided("lbl_1")
    # a recovered purchase saves the label again: the first owner stays
    await label_store.save_label(label().model_copy(update={"voided": True}),
                                 LabelOwner("someone-else", "WH-WEST"))
    stored = await label_store.get_stored_label("lbl_1")
    assert stored == StoredLabel(label().model_copy(update={"voided": True}), owner)
    assert await label_store.get_stored_label("lbl_missing") is None


def test_tenant_rules() -> None:
    owner = LabelOwner("wms-a", "WH-EAST")
    assert Tenant("wms-a").may_see(owner)
    assert not Tenant("wms-b").may_see(owner)
    assert Tenant("wms-b", frozenset({"WH-EAST"})).may_see(owner)
    # narrowed to other warehouses, a client no longer sees its own older label
    assert not Tenant("wms-a", frozenset({"WH-WEST"})).may_see(owner)
    assert not Tenant("wms-a").may_see(None)
    assert not Tenant("wms-a", frozenset({"WH-EAST"})).may_see(LabelOwner("wms-a", None))
    assert Tenant("ops", sees_all=True).may_see(None)
    assert Tenant("x", frozenset({"WH-EAST"})).may_ship_from("WH-EAST")
    assert not Tenant("x", frozenset({"WH-EAST"})).may_ship_from("WH-WEST")


async def test_a_sqlite_file_of_the_first_schema_is_migrated_and_keeps_its_labels(
        tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    now = time.time()
    old = sqlite3.connect(path)
    old.executescript(_FIRST_SCHEMA)
    claimed = record(key="order-1").model_copy(update={"label_id": "lbl_1"})
    old.execute("INSERT INTO idempotency_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (claimed.client_id, claimed.key, claimed.token, claimed.state.value,
                 claimed.label_id, claimed.model_dump_json(), now, now, now + 3600))
    for label_id in ("lbl_1", "lbl_orphan"):
        old.execute("INSERT INTO labels VALUES (?, ?, ?, ?)",
                    (label_id, label(label_id).model_dump_json(), now, now + 86400))
    old.commit()
    old.close()

    store = SqliteIdempotencyStore(path)
    try:
        recorded = await store.get_stored_label("lbl_1")
        orphan = await store.get_stored_label("lbl_orphan")
        # the old record of the purchase still answers for the same caller and key
        assert await store.get("client-a", "order-1") == claimed
        await store.save_label(label("lbl_2"), LabelOwner("client-b", "WH-EAST"))
        fresh = await store.get_stored_label("lbl_2")
    finally:
        await store.aclose()
    # the record names the buyer; a label whose record is gone is left to operators
    assert recorded == StoredLabel(label("lbl_1"), LabelOwner("client-a", None))
    assert orphan == StoredLabel(label("lbl_orphan"), None)
    assert fresh == StoredLabel(label("lbl_2"), LabelOwner("client-b", "WH-EAST"))
    # a second open finds the columns already there
    again = SqliteIdempotencyStore(path)
    try:
        assert await again.get_stored_label("lbl_2") == fresh
    finally:
        await again.aclose()


@pytest.mark.redis
async def test_a_redis_label_written_before_owners_were_kept_reads_as_unowned(
        redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await client.set("gw:label:lbl_1", label().model_dump_json())
        store = RedisIdempotencyStore(client, prefix="gw:")
        assert await store.get_stored_label("lbl_1") == StoredLabel(label(), None)
        voided = await store.mark_voided("lbl_1")
        assert voided is not None and voided.voided
        assert await store.get_stored_label("lbl_1") == StoredLabel(voided, None)
    finally:
        await client.aclose()
