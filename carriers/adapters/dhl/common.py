"""Pieces shared by the MyDHL rate and shipment payloads.

Spec: "DHL Express APIs (MyDHL API)" OpenAPI 3.1.1, as vendored by karrio at ``deea10f``
(``modules/connectors/mydhl/vendors/dpdhl-express-api-3.1.1_swagger.yaml``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.base import CarrierRejected
from carriers.customs import EU_CUSTOMS_UNION
from carriers.models import Address, CarrierMessage, DimensionUnit, Parcel, WeightUnit
from carriers.units import money, parcel_sides, parcel_weight, round_up

CARRIER = "dhl_express"
# MyDHL "Interface version - do not change this field value" (x-version header default)
API_VERSION = "3.1.0"
# ISO 4217 "no currency": MyDHL returned no charges for the shipment
NO_CURRENCY = "XXX"
_PRICE_PREFERENCE = ("BILLC", "PULCL", "BASEC")  # billing, public-rate, base currency


def reject(code: str, message: str) -> CarrierRejected:
    return CarrierRejected(CARRIER, [CarrierMessage(carrier=CARRIER, code=code, message=message)])


def num(value: Decimal) -> float:
    return float(value)


def customs_declarable(ship_from: Address, ship_to: Address) -> bool:
    if ship_from.country == ship_to.country:
        return False
    return not {ship_from.country, ship_to.country} <= EU_CUSTOMS_UNION


def planned_shipping(now: datetime, zone: ZoneInfo) -> str:
    """The account's local time with its offset, e.g. ``2025-01-18T17:00:00 GMT+01:00``.

    Ten minutes ahead: MyDHL refuses a planned time it already sees as past.
    """
    local = (now + timedelta(minutes=10)).astimezone(zone)
    offset = local.strftime("%z") or "+0000"
    return f"{local:%Y-%m-%dT%H:%M:%S} GMT{offset[:3]}:{offset[3:5]}"


def package(parcel: Parcel) -> dict[str, Any]:
    out: dict[str, Any] = {"weight": num(round_up(parcel_weight(parcel, WeightUnit.KG),
                                                  "0.001"))}
    sides = parcel_sides(parcel, DimensionUnit.CM)
    if sides is not None:
        out["dimensions"] = {name: num(round_up(side, "0.1"))
                             for name, side in zip(("length", "width", "height"), sides,
                                                   strict=True)}
    return out


def account(config: DhlExpressConfig) -> list[dict[str, str]]:
    return [{"typeCode": "shipper", "number": config.account_number}]


def price(prices: Any) -> tuple[Decimal, str] | None:
    usable = {p.get("currencyType"): p for p in prices or []
              if p.get("priceCurrency") and p.get("price") is not None}
    for kind in _PRICE_PREFERENCE:
        if kind in usable:
            return money(usable[kind]["price"]), str(usable[kind]["priceCurrency"])
    return None


def as_mapping(node: Any) -> Mapping[str, Any]:
    return node if isinstance(node, Mapping) else {}
