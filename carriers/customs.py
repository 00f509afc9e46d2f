"""Checks a label request against one carrier's documented customs rules before buying.

Each adapter describes its carrier with a ``CustomsRules`` (limits from the vendor's
schema) and calls ``label_problems``; every problem names the request field and the
carrier rule, so a warehouse can fix the request before anything is bought. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from carriers.base import CarrierRejected
from carriers.models import (
    Address,
    CarrierMessage,
    ContentsType,
    Customs,
    DutiesPayer,
    Incoterm,
    LabelRequest,
)

CODE = "customs_rule"
_DIGITS = re.compile(r"\D")
# EU customs union (plus Monaco, inside it through France): no declaration between these
EU_CUSTOMS_UNION = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MC", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
# countries whose carriers want a 10-digit area code + number (no leading 1)
_NANP = frozenset({"US", "CA", "PR", "VI"})


@dataclass(frozen=True)
class CustomsRules:
    """One carrier's limits on an international label (see its adapter for the source)."""

    carrier: str
    # how the rules are cited in messages ("UPS Shipping v2409")
    source: str
    max_items: int
    description_max: int
    incoterms: frozenset[Incoterm]
    # phone digits allowed on the shipper and the recipient of an international label
    phone_digits: tuple[int, int] = (1, 15)
    phone_required: bool = True
    hs_code_required: bool = False
    hs_code_lengths: tuple[int, int] = (6, 14)
    invoice_number_max: int = 35
    reason_max: int = 30
    # descriptions a carrier refuses as too vague (compared case-insensitively)
    vague_descriptions: frozenset[str] = field(default_factory=frozenset)


def crosses_border(ship_from: Address, ship_to: Address) -> bool:
    return ship_from.country != ship_to.country


def eu_inbound(ship_from: Address, ship_to: Address) -> bool:
    """Goods entering the EU customs union from outside it."""
    return ship_to.country in EU_CUSTOMS_UNION and ship_from.country not in EU_CUSTOMS_UNION


def problem(rules: CustomsRules, where: str, text: str) -> CarrierMessage:
    return CarrierMessage(carrier=rules.carrier, code=CODE, field=where,
                          message=f"{where}: {text} ({rules.source})")


def label_problems(request: LabelRequest, rules: CustomsRules, *,
                   needs_customs: bool | None = None) -> list[CarrierMessage]:
    """What ``rules.carrier`` would refuse in this label request; empty when none.

    ``needs_customs`` defaults to "the countries differ"; carriers with customs unions
    (DHL inside the EU) pass their own answer.
    """
    needed = crosses_border(request.ship_from, request.ship_to) if needs_customs is None \
        else needs_customs
    if not needed:
        return []
    found: list[CarrierMessage] = []
    if rules.phone_required:
        for role, address in (("ship_from", request.ship_from), ("ship_to", request.ship_to)):
            found.extend(_phone(rules, f"{role}.phone", address.phone))
    customs = request.customs
    if customs is None:
        found.append(problem(rules, "customs", "international labels need the customs "
                             "declaration (contents, items, values, origins)"))
        return found
    found.extend(customs_problems(customs, rules))
    return found


def consistency_problems(customs: Customs, rules: CustomsRules) -> list[CarrierMessage]:
    """What the declaration's fields say together, whatever the carrier."""
    found: list[CarrierMessage] = []
    currencies = sorted({item.currency for item in customs.items})
    if len(currencies) > 1:
        found.append(problem(rules, "customs.items", f"all lines share one currency, got "
                             f"{' '.join(currencies)}"))
    elif customs.declared_value is not None and customs.declared_value != customs.total_value:
        found.append(problem(rules, "customs.declared_value",
                             f"{customs.declared_value} differs from the sum of the lines "
                             f"{customs.total_value}"))
    if customs.incoterm is Incoterm.DDP and customs.duties_payer is not DutiesPayer.SENDER:
        found.append(problem(rules, "customs.duties_payer",
                             "incoterm DDP means the sender pays duties: use 'sender'"))
    if customs.duties_payer is DutiesPayer.THIRD_PARTY and not customs.duties_account:
        found.append(problem(rules, "customs.duties_account",
                             "a third-party duties payer needs its account"))
    return found


def customs_problems(customs: Customs, rules: CustomsRules) -> list[CarrierMessage]:
    """The checks on the customs model alone (used by rating too)."""
    found = consistency_problems(customs, rules)
    if len(customs.items) > rules.max_items:
        found.append(problem(rules, "customs.items",
                             f"at most {rules.max_items} lines, got {len(customs.items)}"))
    if customs.incoterm not in rules.incoterms:
        allowed = " ".join(sorted(i.value for i in rules.incoterms))
        found.append(problem(rules, "customs.incoterm",
                             f"{customs.incoterm.value} is not accepted; use one of {allowed}"))
    if customs.invoice_number and len(customs.invoice_number) > rules.invoice_number_max:
        found.append(problem(rules, "customs.invoice_number",
                             f"at most {rules.invoice_number_max} characters"))
    if customs.reason_for_export and len(customs.reason_for_export) > rules.reason_max:
        found.append(problem(rules, "customs.reason_for_export",
                             f"at most {rules.reason_max} characters"))
    low, high = rules.hs_code_lengths
    for index, item in enumerate(customs.items):
        where = f"customs.items[{index}]"
        if len(item.description) > rules.description_max:
            found.append(problem(rules, f"{where}.description",
                                 f"at most {rules.description_max} characters, got "
                                 f"{len(item.description)}"))
        if item.description.strip().lower() in rules.vague_descriptions:
            found.append(problem(rules, f"{where}.description",
                                 f"{item.description!r} is too vague for customs; say what "
                                 "the goods are"))
        needs_code = rules.hs_code_required and customs.contents_type is not \
            ContentsType.DOCUMENTS
        if item.hs_code is None and needs_code:
            found.append(problem(rules, f"{where}.hs_code", "an HS tariff number is required"))
        elif item.hs_code is not None and not low <= len(item.hs_code) <= high:
            found.append(problem(rules, f"{where}.hs_code",
                                 f"{low} to {high} digits, got {len(item.hs_code)}"))
    return found


def refuse(carrier: str, problems: Iterable[CarrierMessage]) -> None:
    """Raise the problems as one refusal (422 at the gateway); nothing when there are none."""
    found = list(problems)
    if found:
        raise CarrierRejected(carrier, found)


def phone_digits(phone: str | None) -> str:
    return _DIGITS.sub("", phone or "")


def national_phone(phone: str | None, country: str) -> str:
    """Digits only; North American numbers without their leading country code 1."""
    digits = phone_digits(phone)
    if country in _NANP and len(digits) == 11 and digits.startswith("1"):
        return digits[1:]
    return digits


def _phone(rules: CustomsRules, where: str, phone: str | None) -> list[CarrierMessage]:
    digits = phone_digits(phone)
    low, high = rules.phone_digits
    if not digits:
        return [problem(rules, where, "a phone number is required on international labels")]
    if not low <= len(digits) <= high:
        return [problem(rules, where, f"{low} to {high} digits, got {len(digits)}")]
    return []
