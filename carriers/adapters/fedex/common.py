"""Pieces of the FedEx payloads shared by rating and shipping, and reply helpers.

Field names follow FedEx's OpenAPI documents as vendored by karrio (``karrioapi/karrio``
at ``deea10f``: ``modules/connectors/fedex/vendor/rate-api.json``, ``ship-api.json``,
``track.json``; all ``1.0.0``). Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from carriers.adapters.fedex.config import FedExConfig
from carriers.customs import national_phone
from carriers.models import Address, Parcel
from carriers.units import (
    money_or_none,
    origin_units,
    parcel_sides,
    parcel_weight,
    round_up,
    whole_up,
)

CARRIER = "fedex"
# our parcels are the shipper's own boxes; sending another packaging type together with
# dimensions makes FedEx answer "no service" (karrio #159)
PACKAGING = "YOUR_PACKAGING"


class UnexpectedReply(ValueError):
    """A 2xx FedEx body without the fields its documented shape promises."""


def token_form(config: FedExConfig) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": config.client_id.get_secret_value(),
        "client_secret": config.client_secret.get_secret_value(),
    }


def parse_token(body: Any) -> tuple[str, float]:
    try:
        return str(body["access_token"]), float(body["expires_in"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply("FedEx token reply lacks access_token/expires_in") from exc


def address(place: Address) -> dict[str, Any]:
    out: dict[str, Any] = {
        "streetLines": list(place.street),
        "city": place.city,
        "postalCode": place.postal_code,
        "countryCode": place.country,
        "residential": place.residential,
    }
    if place.state:
        out["stateOrProvinceCode"] = place.state
    return out


def party(place: Address) -> dict[str, Any]:
    # phoneNumber: 10-15 characters, digits; US and CA numbers as their 10 digits
    contact = {"personName": place.name, "companyName": place.company,
               "phoneNumber": national_phone(place.phone, place.country),
               "emailAddress": place.email}
    return {"contact": {k: v for k, v in contact.items() if v},
            "address": address(place)}


def line_items(parcels: list[Parcel], origin: str) -> list[dict[str, Any]]:
    """One unit system per shipment: LB/IN from US and Puerto Rico origins, KG/CM elsewhere."""
    weight_unit, length_unit = origin_units(origin)
    items = []
    for number, parcel in enumerate(parcels, start=1):
        item: dict[str, Any] = {
            "sequenceNumber": number,
            "weight": {"units": weight_unit.value.upper(),
                       "value": float(round_up(parcel_weight(parcel, weight_unit), "0.1"))},
        }
        sides = parcel_sides(parcel, length_unit)
        if sides is not None:
            # FedEx takes whole numbers only
            length, width, height = (whole_up(side) for side in sides)
            item["dimensions"] = {"length": length, "width": width, "height": height,
                                  "units": length_unit.value.upper()}
        items.append(item)
    return items


def amount(value: Any) -> Decimal | None:
    return money_or_none(value)


def currency(*values: Any) -> str | None:
    for value in values:
        code = text(value).upper()
        if len(code) == 3 and code.isalpha():
            return code
    return None


def iso(value: Any) -> datetime | None:
    stamp = text(value)
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    # FedEx stamps scans with their local offset; a bare stamp is taken as UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


