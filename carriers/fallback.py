"""Fallback table rates: what an unavailable carrier's services are estimated to cost.

Rows come from ``[[shipping.fallback.rules]]``. For each service and each parcel the
MOST SPECIFIC matching row wins; specificity compares, in this order:

1. exact origin warehouse over ``*``
2. exact destination country over ``*``
3. longer postal-code prefix over shorter over none
4. exact carrier (code or account id) over ``*``

and an equal score goes to the row listed first. A row matches a parcel when the
parcel's billable weight (``max(actual, dimensional)`` with the row's divisor, in kg)
lies in ``[min_weight_kg, max_weight_kg)``. A parcel costs ``price + handling_fee``;
a shipment costs the sum over its parcels, and a service is offered only when every
parcel found a row (in one currency). Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from carriers.config import FallbackRule, normalize_postal
from carriers.models import DimensionUnit, Parcel, Rate, RateRequest, RateSource, WeightUnit
from carriers.units import CENT as _CENT
from carriers.units import convert_length, parcel_weight

Specificity = tuple[int, int, int, int]


class FallbackReason(StrEnum):
    """Why a rate came from the table instead of the carrier (``Rate.fallback_reason``)."""

    BREAKER_OPEN = "breaker_open"
    TIMEOUT = "timeout"
    CARRIER_UNAVAILABLE = "carrier_unavailable"
    # the overall rate-shop deadline passed before the carrier answered
    DEADLINE = "deadline"


def weight_kg(parcel: Parcel) -> Decimal:
    return parcel_weight(parcel, WeightUnit.KG)


def volume_cm3(parcel: Parcel) -> Decimal | None:
    dims = parcel.dimensions
    if dims is None:
        return None
    cm = DimensionUnit.CM
    return (convert_length(dims.length, dims.unit, cm) * convert_length(dims.width, dims.unit, cm)
            * convert_length(dims.height, dims.unit, cm))


def billable_weight_kg(parcel: Parcel, dim_divisor: Decimal | None) -> Decimal:
    """``max(actual, volume / divisor)``; the actual weight when there is no divisor or no box."""
    actual = weight_kg(parcel)
    volume = volume_cm3(parcel)
    if dim_divisor is None or volume is None:
        return actual
    return max(actual, volume / dim_divisor)


def in_band(rule: FallbackRule, weight: Decimal) -> bool:
    if weight < rule.min_weight_kg:
        return False
    return rule.max_weight_kg is None or weight < rule.max_weight_kg


def specificity(rule: FallbackRule) -> Specificity:
    return (
        int(rule.warehouse != "*"),
        int(rule.country != "*"),
        len(rule.postal_prefix or ""),
        int(rule.carrier != "*"),
    )


def matches_route(rule: FallbackRule, request: RateRequest, *, carrier: str, account: str) -> bool:
    """Everything but the weight band: warehouse, destination, carrier."""
    if rule.warehouse not in ("*", request.warehouse):
        return False
    if rule.country not in ("*", request.ship_to.country):
        return False
    if rule.postal_prefix and not normalize_postal(request.ship_to.postal_code).startswith(
            rule.postal_prefix):
        return False
    return rule.carrier in ("*", carrier, account)


def best_rule(rules: Sequence[FallbackRule], parcel: Parcel) -> FallbackRule | None:
    """The most specific row whose band holds the parcel; the first listed wins a tie."""
    best: FallbackRule | None = None
    best_score: Specificity | None = None
    for rule in rules:
        if not in_band(rule, billable_weight_kg(parcel, rule.dim_divisor)):
            continue
        score = specificity(rule)
        if best_score is None or score > best_score:  # strict: earlier rows keep ties
            best, best_score = rule, score
    return best


def fallback_rates(
    rules: Sequence[FallbackRule],
    request: RateRequest,
    *,
    carrier: str,
    account: str,
    reason: str,
) -> list[Rate]:
    """Table rates for every service whose rows cover all parcels, flagged ``source=fallback``."""
    candidates = [r for r in rules if matches_route(r, request, carrier=carrier, account=account)]
    services = list(dict.fromkeys(r.service for r in candidates))
    rates: list[Rate] = []
    for service in services:
        service_rules = [r for r in candidates if r.service == service]
        chosen = [best_rule(service_rules, parcel) for parcel in request.parcels]
        if any(rule is None for rule in chosen):
            continue
        rows = [rule for rule in chosen if rule is not None]
        if len({row.currency for row in rows}) != 1:
            continue  # inconsistent table: do not guess an exchange rate
        total = sum((row.price + row.handling_fee for row in rows), Decimal(0))
        transit = [row.transit_days for row in rows if row.transit_days is not None]
        rates.append(Rate(
            carrier=carrier,
            carrier_account=account,
            service=service,
            service_level=rows[0].service_level,
            amount=total.quantize(_CENT, rounding=ROUND_HALF_UP),
            currency=rows[0].currency,
            estimated_transit_days=max(transit) if transit else None,
            source=RateSource.FALLBACK,
            fallback_reason=reason,
        ))
    return rates


class FallbackTable:
    """The configured rows, ready to rate a failing carrier's shipment."""

    def __init__(self, rules: Sequence[FallbackRule]) -> None:
        self.rules = tuple(rules)

    def rates(self, request: RateRequest, *, carrier: str, account: str,
              reason: str) -> list[Rate]:
        return fallback_rates(self.rules, request, carrier=carrier, account=account,
                              reason=reason)
