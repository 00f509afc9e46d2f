from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from carriers.config import FallbackRule
from carriers.fallback import (
    FallbackReason,
    FallbackTable,
    billable_weight_kg,
    fallback_rates,
    weight_kg,
)
from carriers.models import (
    Dimensions,
    DimensionUnit,
    Parcel,
    Rate,
    RateRequest,
    RateSource,
    ServiceLevel,
    WeightUnit,
)
from tests.carriers.factories import parcel, rate_request, rule


def quote(rules: list[FallbackRule], request: RateRequest | None = None,
          carrier: str = "ups", account: str = "ups-main") -> list[Rate]:
    return fallback_rates(rules, request or rate_request(), carrier=carrier, account=account,
                          reason=FallbackReason.BREAKER_OPEN.value)


def amounts(rates: list[Rate]) -> dict[str, Decimal]:
    return {r.service: r.amount for r in rates}


BANDS = [
    rule(price="5.00", min_weight_kg=Decimal(0), max_weight_kg=Decimal(1)),
    rule(price="8.00", min_weight_kg=Decimal(1), max_weight_kg=Decimal(5)),
    rule(price="20.00", min_weight_kg=Decimal(5)),
]


@pytest.mark.parametrize(("weight", "price"), [
    ("0.999", "5.00"),
    ("1", "8.00"),       # min inclusive
    ("4.999", "8.00"),
    ("5", "20.00"),      # max exclusive; open-ended band above
    ("900", "20.00"),
])
def test_weight_bands_are_min_inclusive_and_max_exclusive(weight: str, price: str) -> None:
    rates = quote(BANDS, rate_request(parcels=[parcel(weight)]))
    assert amounts(rates) == {"ground": Decimal(price)}


def test_no_rate_when_no_band_holds_the_weight() -> None:
    bounded = [rule(min_weight_kg=Decimal(0), max_weight_kg=Decimal(1))]
    assert quote(bounded, rate_request(parcels=[parcel("1")])) == []


def test_pounds_are_converted_to_kilograms() -> None:
    two_lb = parcel("2.2", WeightUnit.LB)  # 0.998 kg
    assert weight_kg(two_lb) == Decimal("2.2") * Decimal("0.45359237")
    assert amounts(quote(BANDS, rate_request(parcels=[two_lb]))) == {"ground": Decimal("5.00")}
    three_lb = parcel("2.21", WeightUnit.LB)  # 1.0024 kg
    assert amounts(quote(BANDS, rate_request(parcels=[three_lb]))) == {"ground": Decimal("8.00")}


def test_billable_weight_is_the_larger_of_actual_and_dimensional() -> None:
    box = parcel("1", dims=("40", "30", "20"))  # 24000 cm³ / 5000 = 4.8 kg
    assert billable_weight_kg(box, Decimal(5000)) == Decimal("4.8")
    assert billable_weight_kg(box, None) == Decimal(1)
    heavy = parcel("7", dims=("40", "30", "20"))
    assert billable_weight_kg(heavy, Decimal(5000)) == Decimal(7)
    dim_rules = [r.model_copy(update={"dim_divisor": Decimal(5000)}) for r in BANDS]
    assert amounts(quote(dim_rules, rate_request(parcels=[box]))) == {"ground": Decimal("8.00")}
    assert amounts(quote(BANDS, rate_request(parcels=[box]))) == {"ground": Decimal("8.00")}
    small_box = parcel("0.5", dims=("10", "10", "10"))  # 0.2 kg dimensional
    assert amounts(quote(dim_rules, rate_request(parcels=[small_box]))) == {
        "ground": Decimal("5.00")}


def test_inch_dimensions_are_converted_to_centimetres() -> None:
    inches = Parcel(weight=Decimal("0.1"), dimensions=Dimensions(
        length=Decimal(10), width=Decimal(10), height=Decimal(10), unit=DimensionUnit.IN))
    # 1000 in³ = 16387.064 cm³ → 3.2774128 kg at 5000
    assert billable_weight_kg(inches, Decimal(5000)) == Decimal("3.2774128")


def test_longer_postal_prefix_wins() -> None:
    rules = [
        rule(price="9.00"),
        rule(price="7.00", postal_prefix="100"),
        rule(price="8.00", postal_prefix="1"),
    ]
    assert amounts(quote(rules, rate_request(to_postal="10001"))) == {"ground": Decimal("7.00")}
    assert amounts(quote(rules, rate_request(to_postal="19999"))) == {"ground": Decimal("8.00")}
    assert amounts(quote(rules, rate_request(to_postal="90210"))) == {"ground": Decimal("9.00")}


def test_postal_codes_compare_without_spaces_or_case() -> None:
    rules = [rule(price="9.00", country="GB"), rule(price="6.00", country="GB",
                                                    postal_prefix="sw1a 1")]
    request = rate_request(to_postal="SW1A 1AA", to_country="GB")
    assert amounts(quote(rules, request)) == {"ground": Decimal("6.00")}


def test_exact_warehouse_beats_a_longer_postal_prefix() -> None:
    rules = [
        rule(price="7.00", postal_prefix="10001"),
        rule(price="6.50", warehouse="WH1"),
        rule(price="1.00", warehouse="WH2"),
    ]
    assert amounts(quote(rules)) == {"ground": Decimal("6.50")}
    other_warehouse = rate_request(warehouse="WH9")
    assert amounts(quote(rules, other_warehouse)) == {"ground": Decimal("7.00")}


def test_exact_carrier_beats_star_and_matches_code_or_account() -> None:
    rules = [rule(price="9.00"), rule(price="8.00", carrier="ups"),
             rule(price="3.00", carrier="fedex")]
    assert amounts(quote(rules)) == {"ground": Decimal("8.00")}
    by_account = [rule(price="9.00"), rule(price="7.00", carrier="ups-main")]
    assert amounts(quote(by_account)) == {"ground": Decimal("7.00")}
    assert amounts(quote(rules, carrier="usps", account="usps-1")) == {"ground": Decimal("9.00")}


def test_exact_country_beats_rest_of_world_row() -> None:
    rules = [rule(price="30.00", country="*"), rule(price="9.00", country="US")]
    assert amounts(quote(rules)) == {"ground": Decimal("9.00")}
    assert amounts(quote(rules, rate_request(to_country="DE", to_postal="10115"))) == {
        "ground": Decimal("30.00")}


def test_equal_specificity_goes_to_the_first_row() -> None:
    rules = [rule(price="4.00"), rule(price="3.00")]
    assert amounts(quote(rules)) == {"ground": Decimal("4.00")}


def test_multi_parcel_shipments_sum_each_parcel_with_its_handling_fee() -> None:
    rules = [r.model_copy(update={"handling_fee": Decimal("1.25")}) for r in BANDS]
    request = rate_request(parcels=[parcel("0.5"), parcel("2"), parcel("6")])
    assert amounts(quote(rules, request)) == {"ground": Decimal("36.75")}  # 5+8+20+3*1.25


def test_a_service_is_dropped_when_one_parcel_has_no_row() -> None:
    rules = [
        rule(price="5.00", max_weight_kg=Decimal(1)),
        rule("overnight", "30.00", service_level=ServiceLevel.OVERNIGHT),
    ]
    request = rate_request(parcels=[parcel("0.5"), parcel("3")])
    assert amounts(quote(rules, request)) == {"overnight": Decimal("60.00")}


def test_fallback_rates_name_the_failing_carrier_and_the_reason() -> None:
    rates = FallbackTable([rule(price="9.99", transit_days=3)]).rates(
        rate_request(), carrier="ups", account="ups-main", reason=FallbackReason.TIMEOUT.value)
    assert len(rates) == 1
    rate = rates[0]
    assert rate.source is RateSource.FALLBACK
    assert rate.fallback_reason == "timeout"
    assert (rate.carrier, rate.carrier_account) == ("ups", "ups-main")
    assert (rate.service_level, rate.estimated_transit_days) == (ServiceLevel.GROUND, 3)


def test_rows_for_other_destinations_do_not_match() -> None:
    assert quote([rule(country="CA")]) == []
    assert quote([rule(postal_prefix="9")]) == []


def test_service_with_rows_in_two_currencies_is_not_offered() -> None:
    rules = [rule(price="5.00", max_weight_kg=Decimal(1)),
             rule(price="8.00", min_weight_kg=Decimal(1), currency="EUR")]
    assert quote(rules, rate_request(parcels=[parcel("0.5"), parcel("2")])) == []


def test_a_band_must_not_be_empty() -> None:
    with pytest.raises(ValidationError, match="max_weight_kg"):
        rule(min_weight_kg=Decimal(5), max_weight_kg=Decimal(5))
