"""UPS Rating ``v2409``: the Shop request and its reply. Pure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from carriers.adapters.payload import as_list, dig
from carriers.adapters.ups import customs as intl
from carriers.adapters.ups.common import (
    CARRIER,
    UnexpectedReply,
    packages,
    party,
    payment,
    read_money,
    text,
    total_weight,
)
from carriers.adapters.ups.config import UPSConfig
from carriers.adapters.ups.services import service_for_code
from carriers.models import Charge, ChargeKind, ContentsType, Rate, RateRequest


def wants_transit_time(request: RateRequest) -> bool:
    """Time in transit across borders needs InvoiceLineTotal, so the goods' value.

    Without it UPS refuses the whole Shop call (error 111500) instead of leaving the
    transit time out: rates come back without transit days then.
    """
    return request.ship_from.country == request.ship_to.country or request.customs is not None


def rate_params(request: RateRequest) -> dict[str, str]:
    return {"additionalinfo": "timeintransit"} if wants_transit_time(request) else {}


def rate_request(request: RateRequest, config: UPSConfig, *,
                 pickup_date: str | None = None) -> dict[str, Any]:
    """RateRequest for ``/api/rating/{version}/Shop`` (query from ``rate_params``)."""
    origin = request.ship_from.country
    shipment: dict[str, Any] = {
        "Shipper": {
            **party(request.ship_from),
            "ShipperNumber": config.shipper_number,
        },
        "ShipTo": party(request.ship_to, residential_flag=True),
        "ShipFrom": party(request.ship_from),
        "PaymentDetails": payment(config),
        "NumOfPieces": str(len(request.parcels)),
        "Package": packages(request.parcels, origin, purpose="rate"),
    }
    if wants_transit_time(request):
        # "03" = non-document, "02" = document; required for the time-in-transit answer
        documents = (request.customs is not None
                     and request.customs.contents_type is ContentsType.DOCUMENTS)
        timing: dict[str, Any] = {"PackageBillType": "02" if documents else "03"}
        if pickup_date:
            timing["Pickup"] = {"Date": pickup_date}
        shipment["DeliveryTimeInformation"] = timing
    if origin != request.ship_to.country:
        shipment["ShipmentTotalWeight"] = total_weight(request.parcels, origin)
        if request.customs is not None:
            shipment["InvoiceLineTotal"] = intl.invoice_line_total(request.customs)
        # ask for the taxes UPS applies to the shipment (returned as TaxCharges)
        shipment["TaxInformationIndicator"] = ""
    if config.negotiated_rates:
        shipment["ShipmentRatingOptions"] = {"NegotiatedRatesIndicator": "Y"}
    return {"RateRequest": {
        "Request": {"TransactionReference": {"CustomerContext": request.warehouse}},
        "Shipment": shipment,
    }}


def parse_rates(body: Any, account: str) -> list[Rate]:
    """One Rate per RatedShipment; services without a usable charge are dropped."""
    rated = dig(body, "RateResponse", "RatedShipment")
    if rated is None:
        raise UnexpectedReply("UPS rate reply lacks RateResponse.RatedShipment")
    rates = []
    for shipment in as_list(rated):
        code = text(dig(shipment, "Service", "Code"))
        negotiated = dig(shipment, "NegotiatedRateCharges")
        charge = (read_money(dig(negotiated, "TotalCharge"))
                  or read_money(shipment.get("TotalCharges")))
        if not code or charge is None:
            continue
        service = service_for_code(code)
        rates.append(Rate(
            carrier=CARRIER, carrier_account=account, service=service.slug,
            service_level=service.level, amount=charge[0], currency=charge[1],
            estimated_transit_days=_transit_days(shipment),
            charges=_taxes(shipment, charge[1]),
        ))
    return rates


def _taxes(shipment: dict[str, Any], currency: str) -> list[Charge]:
    """RatedShipment.TaxCharges (VAT and the like on the transport), returned when
    TaxInformationIndicator was sent and negotiated rates do not apply."""
    found = []
    for tax in as_list(shipment.get("TaxCharges")):
        amount = read_money({"MonetaryValue": dig(tax, "MonetaryValue"),
                             "CurrencyCode": currency})
        if amount is not None and amount[0] > Decimal(0):
            found.append(Charge(kind=ChargeKind.TAXES, amount=amount[0], currency=amount[1],
                                description=text(dig(tax, "Type")) or None))
    return found


def _transit_days(shipment: dict[str, Any]) -> int | None:
    for path in (("GuaranteedDelivery", "BusinessDaysInTransit"),
                 ("TimeInTransit", "ServiceSummary", "EstimatedArrival", "BusinessDaysInTransit")):
        value = text(dig(shipment, *path))
        if value.isdigit():
            return int(value)
    return None
