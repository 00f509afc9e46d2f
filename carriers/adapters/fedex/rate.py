"""FedEx Rate ``v1``: the quotes request and its reply, with estimated duties. Pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from carriers.adapters.fedex import customs as intl
from carriers.adapters.fedex.common import (
    CARRIER,
    PACKAGING,
    UnexpectedReply,
    address,
    amount,
    currency,
    line_items,
    text,
)
from carriers.adapters.fedex.config import FedExConfig
from carriers.adapters.fedex.services import service_id, service_level
from carriers.adapters.payload import as_list, dig
from carriers.customs import crosses_border, customs_problems, problem, refuse
from carriers.models import Charge, ChargeKind, Rate, RateRequest

_DAYS = {word: n for n, word in enumerate(
    ("ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN", "ELEVEN",
     "TWELVE", "THIRTEEN", "FOURTEEN", "FIFTEEN", "SIXTEEN", "SEVENTEEN", "EIGHTEEN",
     "NINETEEN", "TWENTY"), start=1)}


def rate_request(request: RateRequest, config: FedExConfig) -> dict[str, Any]:
    """Body for ``POST /rate/v1/rates/quotes`` without a serviceType: all services rate.

    Across borders FedEx rates only with commodities (``CustomsClearanceDetail``
    requires them), so an international request without ``customs`` is refused here.
    """
    shipment: dict[str, Any] = {
        "shipper": {"address": address(request.ship_from)},
        "recipient": {"address": address(request.ship_to)},
        "pickupType": config.pickup_type,
        "packagingType": PACKAGING,
        "rateRequestType": ["ACCOUNT", "LIST"],
        "totalPackageCount": len(request.parcels),
        "requestedPackageLineItems": line_items(request.parcels, request.ship_from.country),
    }
    if crosses_border(request.ship_from, request.ship_to):
        if request.customs is None:
            refuse(CARRIER, [problem(intl.RULES, "customs", "FedEx rates international "
                                     "shipments only with the customs items")])
        assert request.customs is not None
        refuse(CARRIER, customs_problems(request.customs, intl.RULES))
        shipment["customsClearanceDetail"] = intl.clearance(
            request.customs, request.ship_from.country, shipper_account=config.account_number)
        # estimated duties and taxes (the rate spec's own example sends edtRequestType)
        shipment["edtRequestType"] = "ALL"
    return {
        "accountNumber": {"value": config.account_number},
        "rateRequestControlParameters": {"returnTransitTimes": True},
        "requestedShipment": shipment,
    }


def parse_rates(body: Any, account: str) -> list[Rate]:
    """One Rate per rateReplyDetail, from the ACCOUNT (negotiated) rate when there is one."""
    details = dig(body, "output", "rateReplyDetails")
    if not isinstance(details, list):
        raise UnexpectedReply("FedEx rate reply lacks output.rateReplyDetails")
    rates = []
    for detail in details:
        kind = text(dig(detail, "serviceType"))
        rated = _pick_rated(as_list(dig(detail, "ratedShipmentDetails")))
        charge = amount(dig(rated, "totalNetCharge"))
        code = currency(dig(rated, "currency"), dig(rated, "shipmentRateDetail", "currency"))
        if not kind or charge is None or code is None:
            continue
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=service_id(kind),
            service_level=service_level(kind), amount=charge, currency=code,
            estimated_transit_days=_transit_days(detail),
            charges=_duties(rated, currency_code=code),
        ))
    return rates


def _pick_rated(rated: list[Any]) -> dict[str, Any] | None:
    by_type = {text(r.get("rateType")): r for r in rated if isinstance(r, dict)}
    for kind in ("ACCOUNT", "LIST"):
        if kind in by_type:
            return by_type[kind]
    return next(iter(by_type.values()), None)


def _transit_days(detail: dict[str, Any]) -> int | None:
    for path in (("commit", "daysInTransit"), ("operationalDetail", "transitTime"),
                 ("commit", "transitDays", "minimumTransitTime")):
        word = text(dig(detail, *path)).upper().removesuffix("_DAYS").removesuffix("_DAY")
        if word in _DAYS:
            return _DAYS[word]
    return None




def _duties(rated: dict[str, Any] | None, *, currency_code: str) -> list[Charge]:
    """``totalDutiesAndTaxes`` (estimated, when edtRequestType asked for it), apart."""
    duties = amount(dig(rated, "totalDutiesAndTaxes"))
    if duties is None or duties <= Decimal(0):
        return []
    return [Charge(kind=ChargeKind.DUTIES_AND_TAXES, amount=duties, currency=currency_code,
                   description="estimated by FedEx")]
