"""A deterministic simulated carrier for the demo, drills and tests.

It rates, buys, voids and tracks without a network: prices come from the weights and a
hash of the postal codes, tracking numbers from the label id, documents are real (a tiny
PDF, a ZPL string, a PNG). Options make it misbehave on purpose (latency, a seeded error
rate, 4xx/5xx answers, hanging forever) and it counts what it was asked, so tests can
assert "exactly one purchase". Across borders it behaves like a strict real carrier: the
customs model is required and checked (``RULES``: phones, at most 50 lines of 35
characters, an HS code on every line of goods, DAP/DDP/EXW/FCA only) before any
purchase, rates carry simulated duties and import VAT when the recipient pays them, and
labels come with a commercial invoice PDF. It also answers ``find_label`` (did label X get bought?),
which is what lets a crashed purchase be resolved without buying twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from carriers.base import Capability, CapabilityMissing, CarrierRejected, CarrierUnavailable
from carriers.config import normalize_postal
from carriers.customs import CustomsRules, crosses_border, customs_problems, label_problems, refuse
from carriers.fallback import billable_weight_kg
from carriers.models import (
    Address,
    CarrierMessage,
    Charge,
    ChargeKind,
    Customs,
    DocumentKind,
    DutiesPayer,
    Incoterm,
    Label,
    LabelFormat,
    LabelRequest,
    PackageLabel,
    Parcel,
    Rate,
    RateRequest,
    ServiceLevel,
    ShipmentDocument,
    Tracking,
    TrackingEvent,
    TrackingStatus,
    VoidResult,
)

CODE = "sandbox"
_DIM_DIVISOR = Decimal(5000)
_CENT = Decimal("0.01")
# service -> (level, base price, price per kg, transit days before the zone's extra days)
_SERVICES: dict[str, tuple[ServiceLevel, Decimal, Decimal, int]] = {
    "economy": (ServiceLevel.ECONOMY, Decimal("4.50"), Decimal("0.60"), 4),
    "ground": (ServiceLevel.GROUND, Decimal("6.00"), Decimal("0.80"), 2),
    "expedited": (ServiceLevel.EXPEDITED, Decimal("12.00"), Decimal("1.50"), 2),
    "overnight": (ServiceLevel.OVERNIGHT, Decimal("24.00"), Decimal("3.00"), 1),
}
_JOURNEY = [
    (TrackingStatus.PRE_TRANSIT, "Shipping label created"),
    (TrackingStatus.IN_TRANSIT, "Picked up"),
    (TrackingStatus.IN_TRANSIT, "Arrived at sort facility"),
    (TrackingStatus.OUT_FOR_DELIVERY, "Out for delivery"),
    (TrackingStatus.DELIVERED, "Delivered"),
]


RULES = CustomsRules(
    carrier=CODE, source="sandbox carrier rules", max_items=50, description_max=35,
    incoterms=frozenset({Incoterm.DAP, Incoterm.DDP, Incoterm.EXW, Incoterm.FCA}),
    hs_code_required=True, vague_descriptions=frozenset(
        {"gift", "goods", "merchandise", "items", "stuff", "none", "n/a"}))
# simulated landed cost: duty on the goods, then import VAT on goods + duty
_DUTY_RATE = Decimal("0.05")
_VAT_RATE = Decimal("0.20")


class SandboxOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=120_000)] = 0
    # share of calls answered with a 503, drawn from random.Random(seed)
    error_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    seed: int = 0
    # never answer: the caller's timeout has to fire
    hang: bool = False
    # hang while this file exists: a drill switches an outage on and off from outside
    hang_while_exists: str | None = None
    fail_with: Literal["none", "5xx", "4xx"] = "none"
    void_window_hours: Annotated[float, Field(gt=0)] = 24
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    # play a carrier that cannot be asked whether a label was bought
    supports_lookup: bool = True


class SandboxCarrier:
    carrier = CODE
    capabilities = frozenset(Capability)

    def __init__(self, account_id: str, options: SandboxOptions | None = None, *,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.id = account_id
        self.options = options or SandboxOptions()
        self._now = now
        self._random = random.Random(self.options.seed)
        self.calls: Counter[str] = Counter()
        self.purchase_count = 0
        self.labels: dict[str, Label] = {}

    async def rate(self, request: RateRequest) -> list[Rate]:
        await self._simulate("rate")
        if request.customs is not None and crosses_border(request.ship_from, request.ship_to):
            refuse(CODE, customs_problems(request.customs, RULES))
        zone = _zone(request.ship_from, request.ship_to)
        charges = _landed_cost(request.customs) if crosses_border(
            request.ship_from, request.ship_to) else []
        return [
            Rate(carrier=CODE, carrier_account=self.id, service=service, service_level=level,
                 amount=_price(service, request.parcels, zone), currency=self.options.currency,
                 estimated_transit_days=_transit_days(service, zone), charges=charges)
            for service, (level, *_rest) in _SERVICES.items()
        ]

    def check_label(self, request: LabelRequest) -> None:
        """What a strict carrier refuses across borders, before any purchase (422)."""
        refuse(CODE, label_problems(request, RULES))

    async def purchase(self, request: LabelRequest, label_id: str, *,
                       carrier_key: str | None = None) -> Label:
        await self._simulate("purchase")
        self.check_label(request)
        if request.service not in _SERVICES:
            raise CarrierRejected(CODE, [CarrierMessage(
                carrier=CODE, code="unknown_service",
                message=f"service {request.service!r} is not one of {sorted(_SERVICES)}")],
                status_code=400)
        zone = _zone(request.ship_from, request.ship_to)
        packages = []
        for index, _parcel in enumerate(request.parcels):
            number = tracking_number(label_id, index)
            document = render_document(request.format, number, request.service, request.ship_to)
            packages.append(PackageLabel(tracking_number=number,
                                         data=base64.b64encode(document).decode("ascii")))
        label = Label(
            id=label_id, carrier=CODE, carrier_account=self.id, service=request.service,
            tracking_number=packages[0].tracking_number, format=request.format,
            packages=packages, charge=_price(request.service, request.parcels, zone),
            currency=self.options.currency, carrier_shipment_id="SBXSHP" + _digits(label_id, 10),
            created_at=self._now(), documents=_invoice(request, label_id))
        self.labels[label_id] = label
        self.purchase_count += 1
        return label

    async def find_label(self, label_id: str) -> Label | None:
        """The label bought under ``label_id``, or None when no purchase went through."""
        if not self.options.supports_lookup:
            raise CapabilityMissing(CODE, [CarrierMessage(
                carrier=CODE, code="lookup_unsupported",
                message="this sandbox account cannot look labels up")])
        await self._simulate("find_label")
        return self.labels.get(label_id)

    async def void(self, label: Label) -> VoidResult:
        await self._simulate("void")
        window = timedelta(hours=self.options.void_window_hours)
        if self._now() - label.created_at > window:
            return VoidResult(
                carrier=CODE, tracking_number=label.tracking_number, voided=False,
                message=f"label is older than the {self.options.void_window_hours:g} h void"
                        " window and was already manifested")
        if label.id in self.labels:
            self.labels[label.id] = self.labels[label.id].model_copy(update={"voided": True})
        return VoidResult(carrier=CODE, tracking_number=label.tracking_number, voided=True)

    async def track(self, tracking_number: str) -> Tracking:
        await self._simulate("track")
        if not (tracking_number.startswith("SBX") and tracking_number[3:].isdigit()
                and len(tracking_number) == 15):
            raise CarrierRejected(CODE, [CarrierMessage(
                carrier=CODE, code="not_found",
                message=f"no sandbox shipment {tracking_number!r}")], status_code=404)
        known = next((label for label in self.labels.values()
                      if tracking_number in {p.tracking_number for p in label.packages}), None)
        return simulated_tracking(tracking_number, known.created_at if known else None,
                                  self._now())

    async def aclose(self) -> None:
        return None

    async def _simulate(self, operation: str) -> None:
        self.calls[operation] += 1
        options = self.options
        # one stat of a local file per simulated call: cheap enough for a test carrier
        switched = options.hang_while_exists and os.path.exists(  # noqa: ASYNC240
            options.hang_while_exists)
        if options.hang or switched:
            await asyncio.Event().wait()  # until the caller's timeout cancels us
        if options.latency_ms:
            await asyncio.sleep(options.latency_ms / 1000)
        unlucky = options.error_rate > 0 and self._random.random() < options.error_rate
        if options.fail_with == "5xx" or unlucky:
            raise CarrierUnavailable(CODE, [CarrierMessage(
                carrier=CODE, code="http_503", message="sandbox: simulated outage")],
                status_code=503)
        if options.fail_with == "4xx":
            raise CarrierRejected(CODE, [CarrierMessage(
                carrier=CODE, code="invalid_request",
                message="sandbox: simulated rejection")], status_code=400)


def build(account_id: str, options: Mapping[str, Any]) -> SandboxCarrier:
    return SandboxCarrier(account_id, SandboxOptions.model_validate(dict(options)))


def tracking_number(label_id: str, index: int = 0) -> str:
    """``SBX`` + 12 digits derived from the label id (and the parcel's position)."""
    return "SBX" + _digits(f"{label_id}:{index}" if index else label_id, 12)


def simulated_tracking(number: str, shipped_at: datetime | None, now: datetime) -> Tracking:
    """A plausible history whose final status is fixed by the number; newest event first."""
    stage = int(number[3:]) % 7  # 0..4 walk the journey, 5 delivered, 6 an exception
    steps = list(_JOURNEY[: min(stage, 4) + 1])
    if stage == 6:
        steps = [*_JOURNEY[:3], (TrackingStatus.EXCEPTION, "Delivery attempted: address issue")]
    start = shipped_at or (now - timedelta(hours=12 * len(steps))).replace(
        minute=0, second=0, microsecond=0)
    events = [
        TrackingEvent(occurred_at=start + timedelta(hours=12 * i), status=status,
                      description=text, location=None if i == 0 else "Sandbox Hub",
                      carrier_code=f"SB{i:02d}")
        for i, (status, text) in enumerate(steps)
    ]
    final = events[-1].status
    eta = None if final is TrackingStatus.DELIVERED else (start + timedelta(days=3)).date()
    return Tracking(carrier=CODE, tracking_number=number, status=final, estimated_delivery=eta,
                    events=events[::-1])


def _landed_cost(customs: Customs | None) -> list[Charge]:
    """Simulated duties and import VAT the recipient pays; none under DDP or without goods."""
    if customs is None or customs.duties_payer is not DutiesPayer.RECIPIENT:
        return []
    duty = (customs.total_value * _DUTY_RATE).quantize(_CENT, rounding=ROUND_HALF_UP)
    vat = ((customs.total_value + duty) * _VAT_RATE).quantize(_CENT, rounding=ROUND_HALF_UP)
    return [Charge(kind=ChargeKind.DUTIES, amount=duty, currency=customs.currency,
                   description="sandbox: 5% of the declared value"),
            Charge(kind=ChargeKind.TAXES, amount=vat, currency=customs.currency,
                   description="sandbox: 20% import VAT on value and duty")]


def _invoice(request: LabelRequest, label_id: str) -> list[ShipmentDocument]:
    customs = request.customs
    if customs is None or not crosses_border(request.ship_from, request.ship_to):
        return []
    lines = [f"COMMERCIAL INVOICE {customs.invoice_number or label_id}",
             f"{request.ship_from.country} -> {request.ship_to.country} "
             f"{customs.incoterm.value}"]
    lines += [f"{item.quantity} x {item.description} {item.unit_value} {item.currency} "
              f"HS {item.hs_code or '-'} {item.origin_country}" for item in customs.items]
    lines.append(f"TOTAL {customs.total_value} {customs.currency}")
    return [ShipmentDocument(kind=DocumentKind.COMMERCIAL_INVOICE, format="pdf",
                             data=base64.b64encode(tiny_pdf(lines)).decode("ascii"))]


def render_document(fmt: LabelFormat, number: str, service: str, ship_to: Address) -> bytes:
    lines = [f"SANDBOX {service.upper()}", ship_to.name, ship_to.city, ship_to.postal_code,
             ship_to.country, number]
    if fmt is LabelFormat.PDF:
        return tiny_pdf(lines)
    if fmt is LabelFormat.PNG:
        return tiny_png(number)
    return zpl(lines, number)


def tiny_pdf(lines: list[str]) -> bytes:
    """A one-page 4x6 in PDF with the lines in Helvetica and a correct xref table."""
    text = " ".join(f"({_pdf_escape(line)}) Tj 0 -22 Td" for line in lines)
    content = f"BT /F1 16 Tf 24 396 Td {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def tiny_png(number: str, height: int = 40) -> bytes:
    """An 8-bit greyscale PNG of bars drawn from the bits of the tracking number."""
    bars = bytearray(b"\xff" * 8)
    for byte in number.encode("ascii"):
        for bit in range(8):
            bars += (b"\x00" if byte >> (7 - bit) & 1 else b"\xff") * 2
    bars += b"\xff" * 8
    raw = (b"\x00" + bytes(bars)) * height  # filter type 0 on every row

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", len(bars), height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def zpl(lines: list[str], number: str) -> bytes:
    fields = "".join(f"^FO30,{30 + 40 * i}^A0N,30,30^FD{_zpl_escape(line)}^FS\n"
                     for i, line in enumerate(lines[:-1]))
    return (f"^XA\n^CI28\n{fields}^FO30,300^BY2^BCN,120,Y,N,N^FD{number}^FS\n^XZ\n"
            .encode())


def _pdf_escape(text: str) -> str:
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _zpl_escape(text: str) -> str:
    return text.replace("^", " ").replace("~", " ")


def _digits(seed: str, count: int) -> str:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    return str(value % 10**count).zfill(count)


def _zone(ship_from: Address, ship_to: Address) -> int:
    route = (f"{ship_from.country}:{normalize_postal(ship_from.postal_code)[:3]}>"
             f"{ship_to.country}:{normalize_postal(ship_to.postal_code)[:3]}")
    zone = 1 + hashlib.sha256(route.encode()).digest()[0] % 8
    return zone + 4 if ship_from.country != ship_to.country else zone


def _price(service: str, parcels: list[Parcel], zone: int) -> Decimal:
    _level, base, per_kg, _days = _SERVICES[service]
    factor = 1 + Decimal("0.1") * (zone - 1)
    total = sum(((base + per_kg * billable_weight_kg(p, _DIM_DIVISOR)) * factor for p in parcels),
                Decimal(0))
    return total.quantize(_CENT, rounding=ROUND_HALF_UP)


def _transit_days(service: str, zone: int) -> int:
    level, _base, _per_kg, days = _SERVICES[service]
    if level in (ServiceLevel.EXPEDITED, ServiceLevel.OVERNIGHT):
        return days
    return days + zone // 3
