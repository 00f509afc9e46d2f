"""Label-store fixtures: every store test runs on SQLite and (marked ``redis``) on Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from carriers.idempotency import IdempotencyStore
from tests.carriers.factories import open_label_store


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def label_store_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Where the store lives: ("sqlite", file path) or ("redis", url of the session server)."""
    if request.param == "redis":
        return "redis", str(request.getfixturevalue("redis_url"))
    return "sqlite", str(tmp_path / "labels.sqlite3")


@pytest.fixture
async def label_store(label_store_target: tuple[str, str]) -> AsyncIterator[IdempotencyStore]:
    store = open_label_store(label_store_target)
    try:
        yield store
    finally:
        await store.aclose()
