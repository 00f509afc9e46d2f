"""Pieces shared by the USPS v3 payloads: units, addresses, OAuth and payment tokens.

Specs: USPS OpenAPI files for Shipping Options 3.1, Labels 3.9, Payments 3.1 and Tracking
3.2 (developers.usps.com) and the USPS/api-examples README. Pure.

Rates are domestic only (the US, its territories and the freely associated states, which
USPS addresses with ZIP Codes); labels also go abroad through International Labels 3.3.7
(``international.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from carriers.adapters.usps.config import UspsConfig
from carriers.base import CarrierRejected
from carriers.models import Address, CarrierMessage, DimensionUnit, Parcel, WeightUnit
from carriers.units import CENT, parcel_sides, parcel_weight, round_up

CARRIER = "usps"
CURRENCY = "USD"
# "Tokens are valid for eight hours after issuance" (Payments 3.0)
PAYMENT_TOKEN_SECONDS = 8 * 3600
# ISO codes that double as USPS state codes: territories and freely associated states
TERRITORIES = frozenset({"PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW"})
DOMESTIC = TERRITORIES | {"US"}
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")


def reject(code: str, message: str) -> CarrierRejected:
    return CarrierRejected(CARRIER, [CarrierMessage(carrier=CARRIER, code=code, message=message)])


def pounds(parcel: Parcel) -> Decimal:
    return round_up(parcel_weight(parcel, WeightUnit.LB), CENT)


def inches(parcel: Parcel) -> tuple[Decimal, Decimal, Decimal]:
    """Length, width, height in inches, longest first (USPS length is the longest side)."""
    sides = parcel_sides(parcel, DimensionUnit.IN)
    if sides is None:
        raise reject("dimensions_required",
                     "USPS prices and labels need length, width and height for every parcel")
    length, width, height = (round_up(side, CENT) for side in sorted(sides, reverse=True))
    return length, width, height


def zip_code(address: Address) -> tuple[str, str | None]:
    """(5-digit ZIP Code, ZIP+4 or None)."""
    match = _ZIP.fullmatch(address.postal_code.strip())
    if match is None:
        raise reject("invalid_zip_code",
                     f"USPS needs a 5-digit ZIP Code, got {address.postal_code!r}")
    return match.group(1), match.group(2)


def require_domestic(ship_from: Address, ship_to: Address) -> None:
    for role, address in (("origin", ship_from), ("destination", ship_to)):
        if address.country not in DOMESTIC:
            raise reject("unsupported_destination" if role == "destination" else
                         "unsupported_origin",
                         f"USPS {role} {address.country} is not domestic: this adapter only "
                         "ships within the US, its territories and freely associated states")


def num(value: Decimal) -> float:
    return float(value)


def money_of(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def label_address(address: Address) -> dict[str, Any]:
    zip5, plus4 = zip_code(address)
    state = address.state or (address.country if address.country in TERRITORIES else None)
    if not state:
        raise reject("state_required", "USPS labels need a two-letter state code")
    out: dict[str, Any] = {"streetAddress": address.street[0]}
    if len(address.street) > 1:
        out["secondaryAddress"] = " ".join(address.street[1:])
    out |= {"city": address.city, "state": state.upper(), "ZIPCode": zip5}
    if plus4:
        out["ZIPPlus4"] = plus4
    first, _, last = address.name.strip().rpartition(" ")
    if first:
        out |= {"firstName": first, "lastName": last}
    if address.company:
        out["firm"] = address.company
    elif not first:  # a single word is not a first and last name: print it as the firm
        out["firm"] = address.name
    phone = re.sub(r"\D", "", address.phone or "")
    if 6 <= len(phone) <= 15:
        out["phone"] = phone
    if address.email:
        out["email"] = address.email
    return out


def token_request(config: UspsConfig) -> dict[str, str]:
    """Client-credentials grant as the USPS examples send it: a JSON body."""
    return {"client_id": config.client_id.get_secret_value(),
            "client_secret": config.client_secret.get_secret_value(),
            "grant_type": "client_credentials"}


def parse_token(body: Mapping[str, Any]) -> tuple[str, float]:
    # USPS sends expires_in as a string in its examples
    return str(body["access_token"]), float(body["expires_in"])


def payment_authorization_request(config: UspsConfig) -> dict[str, Any]:
    ids = {"CRID": config.crid, "MID": config.mid, "manifestMID": config.manifest_mid}
    return {"roles": [
        {"roleName": "PAYER", **ids, "accountType": "EPS",
         "accountNumber": config.eps_account_number},
        {"roleName": "LABEL_OWNER", **ids},
    ]}


def parse_payment_token(body: Mapping[str, Any]) -> str:
    return str(body["paymentAuthorizationToken"])
