"""JSON wire form of the connector data types (demo ERP over HTTP, cache payloads)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from gateway.erp.base import Availability, PriceQuote, WarehouseStock


def availability_to_wire(a: Availability) -> dict[str, Any]:
    return {
        "sku": a.sku,
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
    )


def price_to_wire(p: PriceQuote) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "customer": p.customer,
        "quantity": str(p.quantity),
        "unit_price": str(p.unit_price),
        "currency": p.currency,
        "price_list": p.price_list,
        "list_price": str(p.list_price),
    }


def price_from_wire(doc: dict[str, Any]) -> PriceQuote:
    return PriceQuote(
        sku=str(doc["sku"]),
        customer=str(doc["customer"]),
        quantity=Decimal(str(doc["quantity"])),
        unit_price=Decimal(str(doc["unit_price"])),
        currency=str(doc["currency"]),
        price_list=doc.get("price_list"),
        list_price=Decimal(str(doc["list_price"])),
    )
