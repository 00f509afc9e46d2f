from __future__ import annotations

import pytest

from caching.entry import Entry, EntryDecodeError, decode, encode


@pytest.mark.parametrize("entry", [
    Entry(b'{"sku":"SKU-0001"}', 1_700_000_000.25, ("sku:SKU-0001", "customer:CUST-001")),
    Entry(None, 1_700_000_000.0, ("sku:NOPE",)),
    Entry(b"", 0.0),
    Entry("ünïcode".encode(), 1.5, ("tag:ü",)),
])
def test_entries_round_trip(entry: Entry) -> None:
    assert decode(encode(entry)) == entry


def test_header_is_compact_and_payload_stored_once() -> None:
    payload = b"x" * 1000
    data = encode(Entry(payload, 1.0, ("sku:A",)))
    assert data.endswith(payload)
    assert len(data) - len(payload) == 12 + 2 + len("sku:A")


@pytest.mark.parametrize("data", [
    b"",  # no header
    b"\x02" + b"\x00" * 11,  # another format version
    b"\x01\x01" + b"\x00" * 8 + b"\x00\x01" + b"\x00\x09ab",  # tag longer than the data
])
def test_foreign_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(EntryDecodeError):
        decode(data)


def test_age_is_never_negative() -> None:
    entry = Entry(b"x", 100.0)
    assert entry.age(103.5) == 3.5
    assert entry.age(99.0) == 0.0
