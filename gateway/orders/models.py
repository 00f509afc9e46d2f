"""Order bodies: what a channel sends and what it gets back (v1 and v2 alike)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from carriers.decimals import PositiveDecimal
from carriers.models import Address
from gateway.erp import base
from gateway.schemas.common import CustomerId, Quantity, Sku, WarehouseId

DecimalString = Annotated[str, Field(pattern=r"^-?\d+(\.\d+)?$", examples=["12.50"])]
Reference = Annotated[str, Field(pattern=r"^[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?$",
                                 examples=["WEB-100234"],
                                 description="The channel's own order reference")]
MAX_ORDER_LINES = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderLineRequest(_Strict):
    sku: Sku
    quantity: Quantity
    unit: Annotated[str | None, Field(
        max_length=32, description="The unit the SKU is sold in (as prices name it); "
        "refused when it is not the ERP's sale unit")] = None
    # no decimal-places limit: a price is compared with the ERP's, within the tolerance
    unit_price: Annotated[Decimal, *PositiveDecimal(
        10_000_000, None, examples=["12.50"], description="The unit price the "
        "channel showed; refused (409, both prices) when the ERP's differs by more than the "
        "configured tolerance")] | None = None


class OrderRequest(_Strict):
    customer: CustomerId
    reference: Reference
    warehouse: WarehouseId | Literal["any"] = Field(
        "any", description="Ship-from warehouse, or any warehouse that can ship every line")
    ship_to: Address
    lines: Annotated[list[OrderLineRequest], Field(min_length=1, max_length=MAX_ORDER_LINES)]


class OrderPath(BaseModel):
    order_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")]


class OrderLineOut(BaseModel):
    sku: str
    quantity: DecimalString
    unit: str
    unit_price: DecimalString


class ShipmentOut(BaseModel):
    id: str
    state: str
    tracking_numbers: list[str]
    carrier: str | None


class OrderOut(BaseModel):
    id: str = Field(description="The ERP's reference for the order")
    reference: str
    customer: str
    state: base.OrderState
    warehouse: str | None
    currency: str
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut]
    total: DecimalString | None = Field(description="Untaxed total in currency")

    @classmethod
    def of(cls, order: base.Order) -> OrderOut:
        return cls(
            id=order.id, reference=order.reference, customer=order.customer,
            state=order.state, warehouse=order.warehouse, currency=order.currency,
            lines=[OrderLineOut(sku=line.sku, quantity=_text(line.quantity), unit=line.unit,
                                unit_price=_text(line.unit_price)) for line in order.lines],
            shipments=[ShipmentOut(id=s.id, state=s.state,
                                   tracking_numbers=list(s.tracking_numbers),
                                   carrier=s.carrier) for s in order.shipments],
            total=None if order.total is None else _text(order.total),
        )


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(
        value, "f")
