"""MyDHL ``POST /rates``: the request and its reply (taxes on the services apart).

Service levels, by global product code (name keywords decide for codes not listed)::

    P D U      EXPRESS WORLDWIDE (nondoc, doc, EU)        expedited
    X 7 8      EXPRESS ENVELOPE, EXPRESS EASY             expedited
    K E        EXPRESS 9:00 (doc, nondoc)                 overnight
    L M        EXPRESS 10:30 (doc, nondoc)                overnight
    T Y        EXPRESS 12:00 (doc, nondoc)                overnight
    N I O 1    DOMESTIC EXPRESS, 9:00, 10:30, 12:00        overnight
    H W        ECONOMY SELECT (nondoc, EU)                economy
    G          ECONOMY SELECT DOMESTIC                    economy

The product code table is DHL's published global product list as mirrored by open-source
integrations; only P, I and B appear in the MyDHL spec examples. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from carriers.adapters.dhl.common import (
    CARRIER,
    account,
    customs_declarable,
    package,
    planned_shipping,
    price,
)
from carriers.adapters.dhl.config import DhlExpressConfig
from carriers.models import Address, Charge, ChargeKind, Rate, RateRequest, ServiceLevel
from carriers.units import money

PRODUCT_LEVELS: Mapping[str, ServiceLevel] = {
    **dict.fromkeys(("P", "D", "U", "X", "7", "8"), ServiceLevel.EXPEDITED),
    **dict.fromkeys(("K", "E", "L", "M", "T", "Y", "N", "I", "O", "1"), ServiceLevel.OVERNIGHT),
    **dict.fromkeys(("H", "W", "G"), ServiceLevel.ECONOMY),
}


def _rate_address(address: Address) -> dict[str, str]:
    return {"postalCode": address.postal_code, "cityName": address.city,
            "countryCode": address.country}


def rate_request(request: RateRequest, config: DhlExpressConfig, now: datetime
                 ) -> dict[str, Any]:
    """POST /rates (multi-piece); with customs, the declared value goes along."""
    body: dict[str, Any] = {
        "customerDetails": {"shipperDetails": _rate_address(request.ship_from),
                            "receiverDetails": _rate_address(request.ship_to)},
        "accounts": account(config),
        "plannedShippingDateAndTime": planned_shipping(now, config.zone),
        "unitOfMeasurement": "metric",
        "isCustomsDeclarable": customs_declarable(request.ship_from, request.ship_to),
        # products past today's cut-off are quoted for the next business day
        "nextBusinessDay": True,
        "packages": [package(parcel) for parcel in request.parcels],
    }
    customs = request.customs
    if customs is not None and body["isCustomsDeclarable"]:
        body["monetaryAmount"] = [{"typeCode": "declaredValue",
                                   "value": float(customs.total_value),
                                   "currency": customs.currency}]
    return body


def service_level(product_code: str, product_name: str = "") -> ServiceLevel:
    if product_code in PRODUCT_LEVELS:
        return PRODUCT_LEVELS[product_code]
    name = product_name.upper()
    if "ECONOMY" in name:
        return ServiceLevel.ECONOMY
    if any(word in name for word in ("9:00", "10:30", "12:00", "DOMESTIC", "SAME DAY")):
        return ServiceLevel.OVERNIGHT
    return ServiceLevel.EXPEDITED


def parse_rates(body: Mapping[str, Any], account: str) -> list[Rate]:
    """One Rate per priced product; products without a price for this account are dropped."""
    rates = []
    for product in body.get("products") or []:
        quote = price(product.get("totalPrice"))
        code = str(product.get("productCode") or "")
        if quote is None or quote[0] <= 0 or not code:
            continue
        days = (product.get("deliveryCapabilities") or {}).get("totalTransitDays")
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=code,
            service_level=service_level(code, str(product.get("productName") or "")),
            amount=quote[0], currency=quote[1],
            charges=_duties(product, quote[1]),
            estimated_transit_days=int(days) if days is not None else None))
    return rates




def _duties(product: Mapping[str, Any], currency: str) -> list[Charge]:
    """Tax on the quoted services (``detailedPriceBreakdown[].breakdown[].priceBreakdown``
    lines of priceType TAX), apart. Duty estimates are MyDHL's ``/landed-cost``, not asked."""
    total = Decimal(0)
    for block in product.get("detailedPriceBreakdown") or []:
        if block.get("currencyType") not in (None, "BILLC"):
            continue
        for line in block.get("breakdown") or []:
            for detail in line.get("priceBreakdown") or []:
                if str(detail.get("priceType") or "").upper() == "TAX" and \
                        detail.get("price") is not None:
                    total += money(detail["price"])
    if total <= 0:
        return []
    return [Charge(kind=ChargeKind.TAXES, amount=total, currency=currency,
                   description="tax on the quoted DHL services")]
