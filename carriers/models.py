"""Unified shipping models: what the gateway speaks, whatever carrier serves the parcel."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class RateRequest(_Model):
    warehouse: Annotated[str, Field(min_length=1, max_length=40)]
    ship_from: Address
    ship_to: Address
    parcels: Annotated[list[Parcel], Field(min_length=1, max_length=50)]
    # restrict rate-shopping to these carriers (ids from config); all of the warehouse's when empty
    carriers: list[str] = Field(default_factory=list)


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


class PackageLabel(_Model):
    tracking_number: str
    # base64 of the label document in ``format``
    data: str


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
