"""USPS Shipping Options 3.1: ``POST /shipments/v3/options/search`` and its reply.

Service levels, by mail class::

    USPS_GROUND_ADVANTAGE   ground       PRIORITY_MAIL           expedited
    PRIORITY_MAIL_EXPRESS   overnight    PARCEL_SELECT           ground
    USPS_CONNECT_LOCAL      overnight    USPS_CONNECT_REGIONAL   expedited
    MEDIA_MAIL, LIBRARY_MAIL, BOUND_PRINTED_MATTER               economy
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from carriers.adapters.usps.common import (
    CARRIER,
    CURRENCY,
    inches,
    money_of,
    num,
    pounds,
    require_domestic,
    zip_code,
)
from carriers.adapters.usps.config import UspsConfig
from carriers.models import Address, Parcel, Rate, ServiceLevel

SERVICE_LEVELS: Mapping[str, ServiceLevel] = {
    "USPS_GROUND_ADVANTAGE": ServiceLevel.GROUND,
    "PRIORITY_MAIL": ServiceLevel.EXPEDITED,
    "PRIORITY_MAIL_EXPRESS": ServiceLevel.OVERNIGHT,
    "PARCEL_SELECT": ServiceLevel.GROUND,
    "USPS_CONNECT_LOCAL": ServiceLevel.OVERNIGHT,
    "USPS_CONNECT_REGIONAL": ServiceLevel.EXPEDITED,
    "MEDIA_MAIL": ServiceLevel.ECONOMY,
    "LIBRARY_MAIL": ServiceLevel.ECONOMY,
    "BOUND_PRINTED_MATTER": ServiceLevel.ECONOMY,
}
# rate indicators of USPS-supplied packaging (flat rate, cubic, Connect bags): not our boxes
_PACKAGING_INDICATORS = frozenset({
    "CP", "E4", "E6", "FA", "FB", "FE", "FP", "FS", "LF", "LL", "LS", "PL", "PM",
    "P5", "P6", "P7", "P8", "P9", "Q6", "Q7", "Q8", "Q9", "Q0"})
_DAYS = re.compile(r"^\s*(\d+)\s+days?\b", re.IGNORECASE)


def options_request(ship_from: Address, ship_to: Address, parcel: Parcel,
                    config: UspsConfig, mailing_date: date) -> dict[str, Any]:
    """POST /shipments/v3/options/search for one parcel, every outbound mail class at once."""
    require_domestic(ship_from, ship_to)
    length, width, height = inches(parcel)
    pricing: dict[str, Any] = {"priceType": config.price_type}
    if config.eps_account_number:
        pricing["paymentAccount"] = {"accountType": "EPS",
                                     "accountNumber": config.eps_account_number}
    return {
        "pricingOptions": [pricing],
        "originZIPCode": zip_code(ship_from)[0],
        "destinationZIPCode": zip_code(ship_to)[0],
        "destinationEntryFacilityType": "NONE",
        "packageDescription": {
            "weight": num(pounds(parcel)),
            "length": num(length), "width": num(width), "height": num(height),
            "mailClass": "ALL_OUTBOUND",
            "mailingDate": mailing_date.isoformat(),
        },
    }


def _option_price(option: Mapping[str, Any]) -> Decimal | None:
    """Price of a rate option we can ship in our own box, or None."""
    for rate in option.get("rates") or []:
        if rate.get("rateIndicator") in _PACKAGING_INDICATORS:
            return None
        if rate.get("destinationEntryFacilityType") not in (None, "", "NONE"):
            return None
    # totalPrice is only returned when extra services were requested
    price = option.get("totalPrice", option.get("totalBasePrice"))
    return None if price is None else money_of(price)


def _transit_days(option: Mapping[str, Any]) -> int | None:
    match = _DAYS.match(str((option.get("commitment") or {}).get("name", "")))
    return int(match.group(1)) if match else None


def _cheapest_per_class(body: Mapping[str, Any]) -> dict[str, tuple[Decimal, int | None]]:
    best: dict[str, tuple[Decimal, int | None]] = {}
    for pricing in body.get("pricingOptions") or []:
        for shipping in pricing.get("shippingOptions") or []:
            mail_class = shipping.get("mailClass")
            for option in shipping.get("rateOptions") or []:
                price = _option_price(option)
                if mail_class and price is not None and (
                        mail_class not in best or price < best[mail_class][0]):
                    best[mail_class] = (price, _transit_days(option))
    return best


def parse_rates(bodies: Sequence[Mapping[str, Any]], account: str,
                mail_classes: Sequence[str]) -> list[Rate]:
    """One Rate per configured mail class that priced every parcel (one body per parcel)."""
    per_parcel = [_cheapest_per_class(body) for body in bodies]
    rates = []
    for mail_class in mail_classes:
        quotes = [parcel[mail_class] for parcel in per_parcel if mail_class in parcel]
        if not quotes or len(quotes) != len(per_parcel):
            continue
        days = [d for _, d in quotes if d is not None]
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=mail_class,
            service_level=SERVICE_LEVELS[mail_class],
            amount=sum((price for price, _ in quotes), Decimal(0)), currency=CURRENCY,
            estimated_transit_days=max(days) if len(days) == len(quotes) else None))
    return rates
