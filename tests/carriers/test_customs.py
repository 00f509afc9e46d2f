"""The carrier-neutral customs model and the shared rule checks; the sandbox's refusals."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from pydantic import ValidationError

from carriers.base import CarrierRejected
from carriers.customs import CustomsRules, consistency_problems, label_problems
from carriers.models import (
    Address,
    Customs,
    CustomsItem,
    DocumentKind,
    DutiesPayer,
    Incoterm,
    LabelRequest,
    TaxId,
    TaxIdKind,
    TaxIdParty,
    WeightUnit,
)
from carriers.sandbox import SandboxCarrier
from tests.carriers.factories import parcel

OSAKA = Address(name="Haruto Sato", street=["1-1 Umeda"], city="Osaka-shi", state="27",
                postal_code="530-0001", country="JP", phone="+81 6 1234 5678")
WAREHOUSE = Address(name="Warehouse 1", street=["1 Main St"], city="Chicago", state="IL",
                    postal_code="60601", country="US", phone="312-555-0100")


def item(**changes: object) -> CustomsItem:
    fields: dict[str, object] = {
        "description": "Green tea (sencha), 100 g", "quantity": 10,
        "unit_value": Decimal("4.25"), "currency": "USD", "net_weight": Decimal("3.5"),
        "weight_unit": WeightUnit.LB, "hs_code": "0902.10 00", "origin_country": "JP"}
    return CustomsItem.model_validate(fields | changes)


def test_line_totals_are_derived_from_per_unit_values_and_weights() -> None:
    line = item(quantity=3, unit_value=Decimal("19.99"), net_weight=Decimal("0.125"))
    customs = Customs(items=[line, item(quantity=1)])

    assert line.line_value == Decimal("59.97")
    assert line.line_weight == Decimal("0.375")
    assert customs.total_value == Decimal("64.22")
    assert customs.currency == "USD"


def test_hs_codes_lose_their_dots_and_spaces() -> None:
    assert item(hs_code="0902.10 00").hs_code == "09021000"
    with pytest.raises(ValidationError, match="hs_code"):
        item(hs_code="0902.1")


@pytest.mark.parametrize(("fields", "field"), [
    ({"items": [item(), item(currency="EUR")]}, "customs.items"),
    ({"items": [item()], "declared_value": Decimal("40.00")}, "customs.declared_value"),
    ({"items": [item()], "incoterm": Incoterm.DDP}, "customs.duties_payer"),
    ({"items": [item()], "duties_payer": DutiesPayer.THIRD_PARTY}, "customs.duties_account"),
])
def test_inconsistent_declarations_are_refused_for_every_carrier(fields: dict[str, object],
                                                                 field: str) -> None:
    rules = CustomsRules(carrier="acme", source="Acme API 2.0", max_items=50,
                         description_max=100, incoterms=frozenset(Incoterm))
    customs = Customs.model_validate(fields)
    assert [m.field for m in consistency_problems(customs, rules)] == [field]
    assert consistency_problems(Customs(items=[item()], declared_value=Decimal("42.50")),
                                rules) == []


def test_a_declaration_needs_at_least_one_line() -> None:
    with pytest.raises(ValidationError, match="at least 1"):
        Customs.model_validate({"items": []})


def test_tax_ids_are_found_by_party_and_kind() -> None:
    customs = Customs(items=[item()], tax_ids=[
        TaxId(party=TaxIdParty.IMPORTER, kind=TaxIdKind.VAT, number="T1234567890123")])
    assert customs.tax_id(TaxIdParty.IMPORTER, TaxIdKind.VAT) is not None
    assert customs.tax_id(TaxIdParty.EXPORTER, TaxIdKind.VAT) is None


def test_every_broken_rule_names_its_field_and_the_carrier_rule() -> None:
    rules = CustomsRules(carrier="acme", source="Acme API 2.0", max_items=1,
                         description_max=10, incoterms=frozenset({Incoterm.DAP}),
                         hs_code_required=True)
    customs = Customs(items=[item(), item(hs_code=None)], incoterm=Incoterm.DDP,
                      duties_payer=DutiesPayer.SENDER)
    request = LabelRequest(warehouse="WH1", carrier="acme", service="x", ship_from=WAREHOUSE,
                           ship_to=OSAKA.model_copy(update={"phone": None}),
                           parcels=[parcel()], customs=customs)

    found = label_problems(request, rules)

    assert [m.field for m in found] == [
        "ship_to.phone", "customs.items", "customs.incoterm", "customs.items[0].description",
        "customs.items[1].description", "customs.items[1].hs_code"]
    assert all(m.message.endswith("(Acme API 2.0)") for m in found)


def test_domestic_labels_have_no_customs_rules() -> None:
    rules = CustomsRules(carrier="acme", source="Acme", max_items=1, description_max=1,
                         incoterms=frozenset())
    request = LabelRequest(warehouse="WH1", carrier="acme", service="x", ship_from=WAREHOUSE,
                           ship_to=WAREHOUSE, parcels=[parcel()])
    assert label_problems(request, rules) == []


# ---- the sandbox plays a strict carrier -----------------------------------------------


def sandbox_request(**changes: object) -> LabelRequest:
    return LabelRequest.model_validate({
        "warehouse": "WH1", "carrier": "sbx", "service": "expedited",
        "ship_from": WAREHOUSE, "ship_to": OSAKA, "parcels": [parcel()],
        "customs": Customs(items=[item()])} | changes)


@pytest.mark.parametrize(("changes", "field"), [
    ({"customs": None}, "customs"),
    ({"ship_to": OSAKA.model_copy(update={"phone": None})}, "ship_to.phone"),
    ({"customs": Customs(items=[item(description="Gift")])}, "customs.items[0].description"),
    ({"customs": Customs(items=[item(hs_code=None)])}, "customs.items[0].hs_code"),
    ({"customs": Customs(items=[item()], incoterm=Incoterm.CIF)}, "customs.incoterm"),
])
async def test_the_sandbox_refuses_what_a_real_carrier_would(changes: dict[str, object],
                                                             field: str) -> None:
    carrier = SandboxCarrier("sbx")
    with pytest.raises(CarrierRejected) as caught:
        await carrier.purchase(sandbox_request(**changes), "lbl_jp")
    assert field in [m.field for m in caught.value.messages]
    assert carrier.purchase_count == 0


async def test_a_sandbox_international_label_comes_with_its_commercial_invoice() -> None:
    label = await SandboxCarrier("sbx").purchase(sandbox_request(), "lbl_jp")

    [invoice] = label.documents
    assert invoice.kind is DocumentKind.COMMERCIAL_INVOICE
    pdf = base64.b64decode(invoice.data)
    assert pdf.startswith(b"%PDF") and b"09021000" in pdf and b"42.50 USD" in pdf
