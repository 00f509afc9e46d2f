from __future__ import annotations

import asyncio
import base64
import re
import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from carriers.base import (
    Capability,
    CapabilityMissing,
    CarrierError,
    CarrierRejected,
    CarrierUnavailable,
)
from carriers.models import LabelFormat, TrackingStatus
from carriers.sandbox import SandboxCarrier, SandboxOptions, build, tracking_number
from tests.carriers.factories import label_request, parcel, rate_request

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def sandbox(**options: object) -> SandboxCarrier:
    return SandboxCarrier("sbx", SandboxOptions.model_validate(options), now=lambda: NOW)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


async def test_rates_are_deterministic_for_all_four_services() -> None:
    carrier = sandbox()
    first = await carrier.rate(rate_request())
    again = await sandbox().rate(rate_request())
    assert first == again
    assert [r.service for r in first] == ["economy", "ground", "expedited", "overnight"]
    assert all(r.carrier == "sandbox" and r.carrier_account == "sbx" for r in first)
    assert first[0].amount < first[-1].amount
    assert first[-1].estimated_transit_days == 1
    heavier = await carrier.rate(rate_request(parcels=[parcel("20")]))
    assert all(h.amount > r.amount for h, r in zip(heavier, first, strict=True))
    assert carrier.calls["rate"] == 2


async def test_purchase_returns_a_valid_pdf_and_a_tracking_number_from_the_label_id() -> None:
    carrier = sandbox()
    label = await carrier.purchase(label_request(), "lbl_one")
    assert label.id == "lbl_one"
    assert re.fullmatch(r"SBX\d{12}", label.tracking_number)
    assert label.tracking_number == tracking_number("lbl_one")
    assert label.created_at == NOW
    pdf = base64.b64decode(label.packages[0].data)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[startxref:].startswith(b"xref\n0 6\n")
    entries = pdf[startxref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert label.tracking_number.encode() in pdf
    assert carrier.purchase_count == 1


async def test_png_labels_are_valid_png_images() -> None:
    label = await sandbox().purchase(label_request(fmt=LabelFormat.PNG), "lbl_png")
    chunks = png_chunks(base64.b64decode(label.packages[0].data))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (depth, colour) == (8, 0)
    assert len(zlib.decompress(chunks[1][1])) == height * (width + 1)


async def test_zpl_labels_are_zpl_documents_with_the_barcode() -> None:
    label = await sandbox().purchase(label_request(fmt=LabelFormat.ZPL), "lbl_zpl")
    document = base64.b64decode(label.packages[0].data).decode()
    assert document.startswith("^XA") and document.rstrip().endswith("^XZ")
    assert f"^FD{label.tracking_number}^FS" in document


async def test_multi_parcel_purchase_has_one_document_per_parcel() -> None:
    label = await sandbox().purchase(label_request(parcels=[parcel(), parcel("3")]), "lbl_two")
    numbers = [p.tracking_number for p in label.packages]
    assert numbers[0] == label.tracking_number
    assert len(set(numbers)) == 2


async def test_unknown_service_is_rejected() -> None:
    carrier = sandbox()
    with pytest.raises(CarrierRejected) as caught:
        await carrier.purchase(label_request(service="teleport"), "lbl_x")
    assert caught.value.messages[0].code == "unknown_service"
    assert carrier.purchase_count == 0


async def test_find_label_answers_whether_a_label_id_was_bought() -> None:
    carrier = sandbox()
    assert await carrier.find_label("lbl_a") is None
    bought = await carrier.purchase(label_request(), "lbl_a")
    assert await carrier.find_label("lbl_a") == bought
    with pytest.raises(CapabilityMissing):
        await sandbox(supports_lookup=False).find_label("lbl_a")


async def test_void_succeeds_inside_the_window_and_is_refused_after_it() -> None:
    carrier = sandbox(void_window_hours=24)
    label = await carrier.purchase(label_request(), "lbl_v")
    assert (await carrier.void(label)).voided is True
    old = label.model_copy(update={"created_at": NOW - timedelta(hours=25)})
    refused = await carrier.void(old)
    assert refused.voided is False
    assert refused.message is not None and "void window" in refused.message


async def test_tracking_gives_a_history_ending_in_the_reported_status() -> None:
    carrier = sandbox()
    label = await carrier.purchase(label_request(), "lbl_t")
    tracking = await carrier.track(label.tracking_number)
    assert tracking.tracking_number == label.tracking_number
    assert tracking.events[0].status is tracking.status
    assert tracking.events[-1].status is TrackingStatus.PRE_TRANSIT
    assert tracking.events[-1].occurred_at == NOW
    times = [e.occurred_at for e in tracking.events]
    assert times == sorted(times, reverse=True)
    statuses = {(await carrier.track(tracking_number(f"lbl_{i}"))).status for i in range(40)}
    assert {TrackingStatus.DELIVERED, TrackingStatus.IN_TRANSIT} <= statuses


async def test_unknown_tracking_number_is_rejected() -> None:
    with pytest.raises(CarrierRejected) as caught:
        await sandbox().track("1Z999")
    assert caught.value.status_code == 404


@pytest.mark.parametrize(("mode", "error", "status"), [
    ("5xx", CarrierUnavailable, 503),
    ("4xx", CarrierRejected, 400),
])
async def test_fail_with_answers_every_operation_with_that_error(
        mode: str, error: type[CarrierError], status: int) -> None:
    carrier = sandbox(fail_with=mode)
    with pytest.raises(error) as caught:
        await carrier.rate(rate_request())
    assert caught.value.status_code == status
    with pytest.raises(error):
        await carrier.purchase(label_request(), "lbl_f")
    assert carrier.purchase_count == 0
    assert carrier.calls == {"rate": 1, "purchase": 1}


async def test_error_rate_is_deterministic_for_a_seed() -> None:
    async def outcomes(seed: int) -> list[bool]:
        carrier = sandbox(error_rate=0.5, seed=seed)
        results = []
        for _ in range(30):
            try:
                await carrier.rate(rate_request())
                results.append(True)
            except CarrierUnavailable:
                results.append(False)
        return results

    first = await outcomes(7)
    assert first == await outcomes(7)
    assert 0 < first.count(False) < 30


async def test_hanging_sandbox_never_answers_until_cancelled() -> None:
    carrier = sandbox(hang=True)
    task = asyncio.create_task(carrier.rate(rate_request()))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    assert carrier.calls["rate"] == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_build_validates_options() -> None:
    carrier = build("sbx-eu", {"currency": "EUR", "latency_ms": 5})
    assert (carrier.id, carrier.options.currency) == ("sbx-eu", "EUR")
    assert carrier.capabilities == frozenset(Capability)
    with pytest.raises(ValidationError):
        build("sbx", {"latency": 5})
    with pytest.raises(ValidationError):
        build("sbx", {"error_rate": 2})
