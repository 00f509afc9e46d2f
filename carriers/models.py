"""Unified shipping models: what the gateway speaks, whatever carrier serves the parcel."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carriers.decimals import PositiveDecimal


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]


class Address(_Model):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    company: Annotated[str | None, Field(max_length=100)] = None
    street: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]],
                      Field(min_length=1, max_length=3)]
    city: Annotated[str, Field(min_length=1, max_length=60)]
    state: Annotated[str | None, Field(max_length=30)] = None
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country: CountryCode
    phone: Annotated[str | None, Field(max_length=30)] = None
    email: Annotated[str | None, Field(max_length=100)] = None
    residential: bool = False


class WeightUnit(StrEnum):
    KG = "kg"
    LB = "lb"


class DimensionUnit(StrEnum):
    CM = "cm"
    IN = "in"


# above 0 and at most 1000: a number, or a string in plain decimal notation
Measure = Annotated[Decimal, *PositiveDecimal(1000, None)]


class Dimensions(_Model):
    length: Measure
    width: Measure
    height: Measure
    unit: DimensionUnit = DimensionUnit.CM


class Parcel(_Model):
    weight: Measure
    weight_unit: WeightUnit = WeightUnit.KG
    dimensions: Dimensions | None = None


class ServiceLevel(StrEnum):
    """Carrier-neutral service levels used by fallback tables and rate-shop tagging."""

    ECONOMY = "economy"
    GROUND = "ground"
    EXPEDITED = "expedited"
    OVERNIGHT = "overnight"


class ContentsType(StrEnum):
    MERCHANDISE = "merchandise"
    DOCUMENTS = "documents"
    GIFT = "gift"
    SAMPLE = "sample"
    RETURN = "return"


class Incoterm(StrEnum):
    """Incoterms 2020 plus the legacy DDU; which ones a carrier takes is checked per carrier."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"
    DDU = "DDU"


class DutiesPayer(StrEnum):
    SENDER = "sender"
    RECIPIENT = "recipient"
    THIRD_PARTY = "third_party"


class TaxIdKind(StrEnum):
    EIN = "ein"
    VAT = "vat"
    EORI = "eori"
    IOSS = "ioss"


class TaxIdParty(StrEnum):
    # the shipper's side (seller, exporter of record) and the recipient's (importer of record)
    EXPORTER = "exporter"
    IMPORTER = "importer"


class TaxId(_Model):
    party: TaxIdParty
    kind: TaxIdKind
    number: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2,35}$")]
    issuing_country: CountryCode | None = None


class CustomsItem(_Model):
    """One invoice line: values and weights are PER UNIT; line totals are derived."""

    description: Annotated[str, Field(min_length=1, max_length=450)]
    quantity: Annotated[int, Field(ge=1, le=999_999)]
    unit_value: Annotated[Decimal, *PositiveDecimal(10**9, 4)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    # net weight of one unit
    net_weight: Measure
    weight_unit: WeightUnit = WeightUnit.KG
    # HS / HTS tariff number, 6-14 digits; single dots or spaces between digits are dropped
    # ("8471.30 00" → "84713000")
    hs_code: Annotated[str | None, Field(pattern=r"^(?:[0-9][. ]?){5,13}[0-9]$")] = None
    origin_country: CountryCode
    sku: Annotated[str | None, Field(min_length=1, max_length=35)] = None

    @field_validator("hs_code", mode="before")
    @classmethod
    def _tariff_digits(cls, value: object) -> object:
        return value.replace(".", "").replace(" ", "") if isinstance(value, str) else value

    @property
    def line_value(self) -> Decimal:
        return self.unit_value * self.quantity

    @property
    def line_weight(self) -> Decimal:
        return self.net_weight * self.quantity


class Customs(_Model):
    """What customs needs to clear the shipment, whatever the carrier.

    The schema holds what one field can say; what fields say together (one currency, a
    declared total equal to the lines, DDP paid by the sender) and each carrier's own
    limits are checked by ``carriers.customs`` before anything is bought.
    """

    contents_type: ContentsType = ContentsType.MERCHANDISE
    # free text for the invoice; carriers get a vocabulary word derived from contents_type
    reason_for_export: Annotated[str | None, Field(min_length=1, max_length=30)] = None
    incoterm: Incoterm = Incoterm.DAP
    duties_payer: DutiesPayer = DutiesPayer.RECIPIENT
    # the carrier account billed for duties and taxes when a third party pays
    duties_account: Annotated[str | None, Field(min_length=1, max_length=20)] = None
    items: Annotated[list[CustomsItem], Field(min_length=1, max_length=999)]
    # the invoice total; when given it must equal the sum of the line values
    declared_value: Annotated[Decimal, *PositiveDecimal(10**10, 2)] | None = None
    invoice_number: Annotated[str | None, Field(min_length=1, max_length=35)] = None
    invoice_date: date | None = None
    # US export filing: the AES ITN ("AES X20240506123456") or an exemption ("NO EEI 30.37(a)")
    export_filing: Annotated[str | None, Field(min_length=1, max_length=35)] = None
    tax_ids: Annotated[list[TaxId], Field(max_length=10)] = Field(default_factory=list)

    @property
    def currency(self) -> str:
        return self.items[0].currency

    @property
    def total_value(self) -> Decimal:
        return sum((item.line_value for item in self.items),
                   Decimal(0)).quantize(Decimal("0.01"))

    def tax_id(self, party: TaxIdParty, kind: TaxIdKind) -> TaxId | None:
        return next((t for t in self.tax_ids if t.party is party and t.kind is kind), None)


class RateRequest(_Model):
    warehouse: Annotated[str, Field(min_length=1, max_length=40)]
    ship_from: Address
    ship_to: Address
    parcels: Annotated[list[Parcel], Field(min_length=1, max_length=50)]
    # restrict rate-shopping to these carriers (ids from config); all of the warehouse's when empty
    carriers: list[str] = Field(default_factory=list)
    # across borders: what is inside, so carriers can quote transit time and duties
    customs: Customs | None = None


class ChargeKind(StrEnum):
    DUTIES = "duties"
    TAXES = "taxes"
    # carriers that quote one figure for both
    DUTIES_AND_TAXES = "duties_and_taxes"


class Charge(_Model):
    kind: ChargeKind
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    description: str | None = None


class RateSource(StrEnum):
    LIVE = "live"
    FALLBACK = "fallback"


class Rate(_Model):
    carrier: str
    carrier_account: str
    service: str
    service_level: ServiceLevel
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    estimated_transit_days: int | None = None
    source: RateSource = RateSource.LIVE
    # why a fallback rate was produced (breaker open, timeout, carrier 5xx …)
    fallback_reason: str | None = None
    # estimated duties and taxes the carrier quotes beside ``amount`` (not included in it)
    charges: list[Charge] = Field(default_factory=list)
    tags: list[Literal["cheapest", "fastest", "best_value"]] = Field(default_factory=list)


class MessageLevel(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class CarrierMessage(_Model):
    carrier: str
    code: str
    message: str
    level: MessageLevel = MessageLevel.ERROR
    # the request field a refusal is about (``customs.items[0].hs_code``)
    field: str | None = None


class LabelFormat(StrEnum):
    PDF = "pdf"
    ZPL = "zpl"
    PNG = "png"


class LabelRequest(_Model):
    warehouse: Annotated[str, Field(min_length=1, max_length=40)]
    carrier: str
    service: str
    ship_from: Address
    ship_to: Address
    parcels: Annotated[list[Parcel], Field(min_length=1, max_length=50)]
    format: LabelFormat = LabelFormat.PDF
    reference: Annotated[str | None, Field(max_length=35)] = None
    # required by every carrier across a customs border
    customs: Customs | None = None


class PackageLabel(_Model):
    tracking_number: str
    # base64 of the label document in ``format``
    data: str


class DocumentKind(StrEnum):
    COMMERCIAL_INVOICE = "commercial_invoice"
    # CN22/CN23 or another customs declaration printed apart from the label
    CUSTOMS_DECLARATION = "customs_declaration"


class ShipmentDocument(_Model):
    kind: DocumentKind
    # "pdf" for every document the carriers send today
    format: Literal["pdf", "png", "gif", "zpl"]
    # base64 of the document
    data: str
    # true when the carrier also sent it to customs electronically (paperless trade / ETD)
    transmitted: bool = False


class Label(_Model):
    id: str
    carrier: str
    carrier_account: str
    service: str
    tracking_number: str
    format: LabelFormat
    # one document per parcel, in request order; ``tracking_number`` is the master
    packages: list[PackageLabel]
    charge: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    # carrier's own shipment id when it differs from the tracking number (needed to void)
    carrier_shipment_id: str | None = None
    created_at: datetime
    voided: bool = False
    # customs documents returned beside the label (commercial invoice …)
    documents: list[ShipmentDocument] = Field(default_factory=list)


class TrackingStatus(StrEnum):
    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    UNKNOWN = "unknown"


class TrackingEvent(_Model):
    occurred_at: datetime
    status: TrackingStatus
    description: str
    location: str | None = None
    carrier_code: str | None = None


class Tracking(_Model):
    carrier: str
    tracking_number: str
    status: TrackingStatus
    estimated_delivery: date | None = None
    events: list[TrackingEvent] = Field(default_factory=list)


class VoidResult(_Model):
    carrier: str
    tracking_number: str
    voided: bool
    # the carrier's own words when it refuses (already manifested, too late …)
    message: str | None = None
