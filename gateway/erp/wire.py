"""JSON wire form of the connector data types (demo ERP over HTTP, cache payloads)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from gateway.erp.base import (
    Address,
    Availability,
    NewOrder,
    Order,
    OrderLine,
    OrderLineState,
    OrderState,
    PriceQuote,
    PriceResult,
    PriceUnavailable,
    Shipment,
    WarehouseStock,
)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def availability_to_wire(a: Availability) -> dict[str, Any]:
    return {
        "sku": a.sku,
        "unit": a.unit,
        "warehouses": [
            {
                "warehouse": w.warehouse,
                "on_hand": str(w.on_hand),
                "available": str(w.available),
                "next_receipt_date": (
                    w.next_receipt_date.isoformat() if w.next_receipt_date else None),
                "next_receipt_quantity": (
                    str(w.next_receipt_quantity) if w.next_receipt_quantity is not None else None),
            }
            for w in a.warehouses
        ],
    }


def availability_from_wire(doc: dict[str, Any]) -> Availability:
    return Availability(
        sku=str(doc["sku"]),
        warehouses=tuple(
            WarehouseStock(
                warehouse=str(w["warehouse"]),
                on_hand=Decimal(str(w["on_hand"])),
                available=Decimal(str(w["available"])),
                next_receipt_date=(date.fromisoformat(w["next_receipt_date"])
                                   if w.get("next_receipt_date") else None),
                next_receipt_quantity=(Decimal(str(w["next_receipt_quantity"]))
                                       if w.get("next_receipt_quantity") is not None else None),
            )
            for w in doc["warehouses"]
        ),
        unit=str(doc.get("unit", "unit")),
    )


def price_to_wire(p: PriceResult) -> dict[str, Any]:
    if isinstance(p, PriceUnavailable):
        return {"sku": p.sku, "error": p.reason}
    return {
        "sku": p.sku,
        "customer": p.customer,
        "quantity": str(p.quantity),
        "unit_price": str(p.unit_price),
        "currency": p.currency,
        "price_list": p.price_list,
        "list_price": None if p.list_price is None else str(p.list_price),
        "tax_included": p.tax_included,
        "unit": p.unit,
        "stock_units": str(p.stock_units),
    }


def price_from_wire(doc: dict[str, Any]) -> PriceResult:
    if "error" in doc:
        return PriceUnavailable(str(doc["sku"]), str(doc["error"]))
    return PriceQuote(
        sku=str(doc["sku"]),
        customer=str(doc["customer"]),
        quantity=Decimal(str(doc["quantity"])),
        unit_price=Decimal(str(doc["unit_price"])),
        currency=str(doc["currency"]),
        price_list=doc.get("price_list"),
        list_price=_dec(doc.get("list_price")),
        tax_included=bool(doc.get("tax_included", False)),
        unit=str(doc.get("unit", "unit")),
        stock_units=Decimal(str(doc.get("stock_units", 1))),
    )


def new_order_to_wire(o: NewOrder) -> dict[str, Any]:
    return {
        "customer": o.customer, "reference": o.reference, "channel": o.channel,
        "warehouse": o.warehouse,
        "lines": [{"sku": line.sku, "quantity": str(line.quantity),
                   "unit_price": str(line.unit_price)} for line in o.lines],
        "ship_to": {"name": o.ship_to.name, "street": list(o.ship_to.street),
                    "city": o.ship_to.city, "postal_code": o.ship_to.postal_code,
                    "country": o.ship_to.country, "region": o.ship_to.region},
    }


def new_order_from_wire(doc: dict[str, Any]) -> NewOrder:
    ship_to = doc["ship_to"]
    return NewOrder(
        customer=str(doc["customer"]), reference=str(doc["reference"]),
        channel=str(doc["channel"]), warehouse=str(doc["warehouse"]),
        lines=tuple(OrderLine(str(line["sku"]), Decimal(str(line["quantity"])),
                              Decimal(str(line["unit_price"]))) for line in doc["lines"]),
        ship_to=Address(name=str(ship_to["name"]), street=tuple(map(str, ship_to["street"])),
                        city=str(ship_to["city"]), postal_code=str(ship_to["postal_code"]),
                        country=str(ship_to["country"]), region=ship_to.get("region")),
    )


def order_to_wire(o: Order) -> dict[str, Any]:
    return {
        "id": o.id, "reference": o.reference, "channel": o.channel, "customer": o.customer,
        "state": o.state.value, "warehouse": o.warehouse, "currency": o.currency,
        "lines": [{"sku": line.sku, "quantity": str(line.quantity), "unit": line.unit,
                   "unit_price": str(line.unit_price)} for line in o.lines],
        "shipments": [{"id": s.id, "state": s.state, "tracking_numbers": list(s.tracking_numbers),
                       "carrier": s.carrier} for s in o.shipments],
        "total": None if o.total is None else str(o.total),
    }


def order_from_wire(doc: dict[str, Any]) -> Order:
    return Order(
        id=str(doc["id"]), reference=str(doc["reference"]), channel=doc.get("channel"),
        customer=str(doc["customer"]), state=OrderState(doc["state"]),
        warehouse=doc.get("warehouse"), currency=str(doc["currency"]),
        lines=tuple(OrderLineState(str(line["sku"]), Decimal(str(line["quantity"])),
                                   str(line["unit"]), Decimal(str(line["unit_price"])))
                    for line in doc["lines"]),
        shipments=tuple(Shipment(str(s["id"]), str(s["state"]),
                                 tuple(map(str, s.get("tracking_numbers", ()))),
                                 s.get("carrier")) for s in doc.get("shipments", ())),
        total=_dec(doc.get("total")),
    )
