"""Pieces of the UPS payloads shared by rating and shipping, and reply helpers.

Field names follow the UPS-API OpenAPI documents (``UPS-API/api-documentation`` at
``e6f36df``: Rating and Shipping ``v2409``, Tracking ``v1``). Pure.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from carriers.adapters.ups.config import UPSConfig
from carriers.customs import national_phone
from carriers.models import Address, DimensionUnit, Parcel, WeightUnit
from carriers.units import money, origin_units, parcel_sides, parcel_weight, plain, round_up

CARRIER = "ups"
# what UPS calls our units, and the Description the Rating schema requires beside the Code
WEIGHT_CODES = {WeightUnit.KG: ("KGS", "Kilograms"), WeightUnit.LB: ("LBS", "Pounds")}
LENGTH_CODES = {DimensionUnit.CM: ("CM", "Centimeters"), DimensionUnit.IN: ("IN", "Inches")}


class UnexpectedReply(ValueError):
    """A 2xx UPS body without the fields its documented shape promises."""


def token_form() -> dict[str, str]:
    return {"grant_type": "client_credentials"}


def parse_token(body: Any) -> tuple[str, float]:
    """``access_token`` plus ``expires_in`` (UPS sends the seconds as a string)."""
    try:
        return str(body["access_token"]), float(body["expires_in"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UnexpectedReply("UPS token reply lacks access_token/expires_in") from exc


def payment(config: UPSConfig) -> dict[str, Any]:
    return {"ShipmentCharge": [
        {"Type": "01", "BillShipper": {"AccountNumber": config.shipper_number}},
    ]}


def party(address: Address, *, contact: bool = False,
          residential_flag: bool = False) -> dict[str, Any]:
    lines = {
        "AddressLine": [line[:35] for line in address.street],
        "City": address.city[:30],
        "PostalCode": address.postal_code,
        "CountryCode": address.country,
    }
    if address.state:
        lines["StateProvinceCode"] = address.state
    if residential_flag and address.residential:
        lines["ResidentialAddressIndicator"] = "Y"
    out: dict[str, Any] = {"Name": (address.company or address.name)[:35], "Address": lines}
    if contact:
        out["AttentionName"] = address.name[:35]
        digits = national_phone(address.phone, address.country)
        if digits:
            # Phone.Number takes 1-15 digits only; US/CA/PR/VI as area code + 7 digits
            out["Phone"] = {"Number": digits[:15]}
        if address.email:
            out["EMailAddress"] = address.email[:50]
    return out


def unit_of_measurement(codes: tuple[str, str]) -> dict[str, str]:
    return {"Code": codes[0], "Description": codes[1]}


def packages(parcels: list[Parcel], origin: str, *,
             purpose: Literal["rate", "ship"]) -> list[dict[str, Any]]:
    """UPS takes LBS/IN from US and Puerto Rico origins and KGS/CM elsewhere.

    Rating's Package.PackagingType and Dimensions lengths take up to 9 characters;
    Shipping's Package.Packaging and Dimensions take 1-3 characters, so ship lengths
    are whole numbers (rounded up: 108 in / 270 cm is the largest UPS takes anyway).
    """
    weight_unit, length_unit = origin_units(origin)
    out = []
    for parcel in parcels:
        package: dict[str, Any] = {
            # "02" = customer-supplied package
            ("PackagingType" if purpose == "rate" else "Packaging"): {
                "Code": "02", "Description": "Customer Supplied Package"},
            "PackageWeight": {
                "UnitOfMeasurement": unit_of_measurement(WEIGHT_CODES[weight_unit]),
                "Weight": plain(round_up(parcel_weight(parcel, weight_unit), "0.1")),
            },
        }
        sides = parcel_sides(parcel, length_unit)
        if sides is not None:
            step = "0.01" if purpose == "rate" else "1"
            length, width, height = (plain(round_up(side, step)) for side in sides)
            package["Dimensions"] = {
                "UnitOfMeasurement": unit_of_measurement(LENGTH_CODES[length_unit]),
                "Length": length, "Width": width, "Height": height,
            }
        out.append(package)
    return out


def total_weight(parcels: list[Parcel], origin: str) -> dict[str, Any]:
    """Shipment.ShipmentTotalWeight (required for international time in transit)."""
    unit, _ = origin_units(origin)
    weight = sum((parcel_weight(p, unit) for p in parcels), Decimal(0))
    return {"UnitOfMeasurement": unit_of_measurement(WEIGHT_CODES[unit]),
            "Weight": plain(round_up(weight, "0.1"))}


def read_money(node: Any) -> tuple[Decimal, str] | None:
    if not isinstance(node, dict):
        return None
    try:
        amount = Decimal(text(node.get("MonetaryValue")))
    except InvalidOperation:
        return None
    currency = text(node.get("CurrencyCode")).upper()
    if not amount.is_finite() or amount < 0 or len(currency) != 3:
        return None
    return money(amount), currency


def text(value: Any) -> str:
    # the CIE void endpoint has been seen to pad values with "&#xD;" (UPS-API #63)
    return "" if value is None else str(value).replace("&#xD;", "").strip()


