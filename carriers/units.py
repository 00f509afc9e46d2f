"""Unit conversions and rounding rules shared by the carrier mappings.

Exact factors (the international yard and pound agreement): 1 lb = 0.45359237 kg,
1 in = 2.54 cm, 1 lb = 16 oz. Rounding is what a carrier will not adjust against us:

- weights and lengths sent to a carrier round UP (declaring less than the scale or
  the tape shows earns an adjustment charge);
- money read from or sent to a carrier rounds half-up to the cent;
- numbers go out as plain decimal strings (``12.5``, never ``1.25E+1``).

Nothing here knows a currency: amounts are Decimals and the currency travels beside them.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from carriers.models import DimensionUnit, Parcel, WeightUnit

KG_PER_LB = Decimal("0.45359237")
CM_PER_IN = Decimal("2.54")
OZ_PER_LB = Decimal(16)
CENT = Decimal("0.01")
# countries whose carriers (UPS, FedEx) take pounds and inches from shippers there
IMPERIAL_ORIGINS = frozenset({"US", "PR"})


def convert_weight(value: Decimal, have: WeightUnit, want: WeightUnit) -> Decimal:
    """``value`` in ``have`` expressed in ``want``, unrounded."""
    if have is want:
        return value
    return value / KG_PER_LB if want is WeightUnit.LB else value * KG_PER_LB


def convert_length(value: Decimal, have: DimensionUnit, want: DimensionUnit) -> Decimal:
    if have is want:
        return value
    return value / CM_PER_IN if want is DimensionUnit.IN else value * CM_PER_IN


def pounds_to_ounces(value: Decimal) -> Decimal:
    return value * OZ_PER_LB


def parcel_weight(parcel: Parcel, unit: WeightUnit) -> Decimal:
    return convert_weight(parcel.weight, parcel.weight_unit, unit)


def parcel_sides(parcel: Parcel, unit: DimensionUnit) -> tuple[Decimal, Decimal, Decimal] | None:
    """Length, width, height in ``unit`` as given (not sorted), or None without dimensions."""
    dims = parcel.dimensions
    if dims is None:
        return None
    return (convert_length(dims.length, dims.unit, unit),
            convert_length(dims.width, dims.unit, unit),
            convert_length(dims.height, dims.unit, unit))


def origin_units(country: str) -> tuple[WeightUnit, DimensionUnit]:
    """The unit system UPS and FedEx expect from a shipper in ``country``."""
    if country in IMPERIAL_ORIGINS:
        return WeightUnit.LB, DimensionUnit.IN
    return WeightUnit.KG, DimensionUnit.CM


def round_up(value: Decimal, step: str | Decimal) -> Decimal:
    """Up to the next multiple of ``step`` (``"0.1"``, ``"0.01"``, ``"1"`` …)."""
    return value.quantize(Decimal(step), rounding=ROUND_CEILING)


def whole_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def money(value: object) -> Decimal:
    """A carrier amount (str, int, float or Decimal) to the cent, half-up."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def money_or_none(value: object) -> Decimal | None:
    """Like ``money`` but None for missing, negative, non-finite or unreadable amounts."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """``12.50`` → ``12.5``, ``10.0`` → ``10``; never exponent notation."""
    return format(value.normalize(), "f")
