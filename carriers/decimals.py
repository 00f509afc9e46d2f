"""Decimal request fields whose contract says exactly which numbers and strings they take.

A ``Decimal`` field accepts a JSON number or a string, and ``Decimal()`` alone would take
``"1_000"``, ``"1e3"``, ``"NaN"`` and surrounding spaces. ``PositiveDecimal(1000, 4)`` is
a Decimal above 0 and at most 1000 with at most 4 places, written as a number or in plain
decimal notation, and its JSON schema's string branch carries the matching pattern, so a
client (or a contract fuzzer) that follows the schema is never refused.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from pydantic import BeforeValidator, Field

__all__ = ["PositiveDecimal", "positive_decimal_pattern"]


def positive_decimal_pattern(maximum: int, places: int | None) -> str:
    """Plain notation for (0, maximum] with up to ``places`` decimals (None: any number of
    them); ``maximum`` is a power of ten."""
    digits = len(str(maximum)) - 1
    if maximum != 10 ** digits or digits < 1 or (places is not None and places < 1):
        raise ValueError("maximum must be a power of ten, places at least 1")
    upto = "" if places is None else str(places)
    return (rf"^(?=[0-9.]*[1-9])(?:[0-9]{{1,{digits}}}(?:\.[0-9]{{1,{upto}}})?"
            rf"|{maximum}(?:\.0{{1,{upto}}})?)$")


def PositiveDecimal(maximum: int, places: int | None, **field: Any) -> Any:  # noqa: N802
    """The Annotated metadata for such a field: ``Annotated[Decimal, *PositiveDecimal(...)]``."""
    pattern = positive_decimal_pattern(maximum, places)
    compiled = re.compile(pattern)
    if places is not None:
        field |= {"decimal_places": places, "multiple_of": Decimal(1).scaleb(-places)}

    def text_only_in_plain_notation(value: Any) -> Any:
        if isinstance(value, str) and not compiled.fullmatch(value):
            raise ValueError(f"a number above 0 and at most {maximum} in plain decimal "
                             "notation is expected"
                             + (f" (at most {places} decimals)" if places else "")
                             + ", such as 12 or 2.5")
        return value

    def pattern_on_strings(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", ()):
            if branch.get("type") == "string":
                branch["pattern"] = pattern

    return (Field(gt=0, le=maximum, json_schema_extra=pattern_on_strings, **field),
            BeforeValidator(text_only_in_plain_notation))
