"""USPS International Labels 3.3.7: the customs form in USD and pounds, the vendor's sample
reply read, cancels sent to the international path, and local refusals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import respx

from carriers.adapters.usps import UspsCarrier, UspsConfig, mapping
from carriers.base import CarrierRejected
from carriers.models import (
    Address,
    Customs,
    CustomsItem,
    DutiesPayer,
    Incoterm,
    LabelFormat,
    LabelRequest,
    TaxId,
    TaxIdKind,
    TaxIdParty,
    WeightUnit,
)
from tests.carriers.adapters.test_usps_mapping import BOX, CONFIG, MAILING_DATE, label_request
from tests.carriers.adapters.test_usps_transport import (
    BASE,
    NOW,
    OPTIONS,
    fixture,
    mock_payment,
    mock_token,
)

CANBERRA = Address(name="John Smith", street=["14 Kendall Lane"], city="Canberra",
                   state="ACT", postal_code="2601", country="AU", phone="+61 2 6123 4567")
CUSTOMS = Customs(
    incoterm=Incoterm.DDP, duties_payer=DutiesPayer.SENDER, invoice_number="INV-4410",
    items=[CustomsItem(description="Wool socks, 3 pairs", quantity=4,
                       unit_value=Decimal("12.99"), currency="USD", net_weight=Decimal("5.5"),
                       weight_unit=WeightUnit.KG, hs_code="6115.94", origin_country="US")],
    tax_ids=[TaxId(party=TaxIdParty.IMPORTER, kind=TaxIdKind.VAT, number="ABN51824753556")])


def international(**changes: object) -> LabelRequest:
    return label_request(**({"ship_to": CANBERRA, "service": "PRIORITY_MAIL_INTERNATIONAL",
                             "customs": CUSTOMS, "format": LabelFormat.PDF} | changes))


def test_an_international_label_body_carries_the_customs_form() -> None:
    request = international()
    [body] = mapping.label_requests(request, CONFIG, MAILING_DATE)

    assert mapping.label_path(request) == (
        "/international-labels/v3/international-label")
    form = body["customsForm"]
    assert form["AESITN"] == "NO EEI 30.37(a)"
    assert form["customsContentType"] == "MERCHANDISE"
    assert form["invoiceNumber"] == "INV-4410"
    assert form["importersReference"] == {"referenceType": "VAT_NUMBER",
                                          "reference": "ABN51824753556"}
    [line] = form["contents"]
    # line totals: 4 x 12.99 USD; 4 x 5.5 kg = 48.502 lb, rounded up to the hundredth
    assert line == {"itemDescription": "Wool socks, 3 pairs", "itemQuantity": 4,
                    "itemTotalValue": 51.96, "weightUOM": "lb", "itemTotalWeight": 48.51,
                    "countryofOrigin": "US", "HSTariffNumber": "611594"}
    package = body["packageDescription"]
    assert package["mailClass"] == "PRIORITY_MAIL_INTERNATIONAL"
    assert (package["weightUOM"], package["dimensionsUOM"]) == ("lb", "in")
    assert package["prepayDutiesTaxesFees"] is True
    assert package["packageOptions"] == {"packageValue": 51.96, "nonDeliveryOption": "RETURN"}
    assert "immediateManifest" not in package["packageOptions"]
    assert body["toAddress"]["countryISOAlpha2Code"] == "AU"
    assert body["toAddress"]["province"] == "ACT"
    assert body["imageInfo"] == {"imageType": "PDF", "labelType": "4X6LABEL"}


@pytest.mark.parametrize(("changes", "field"), [
    ({"customs": None}, "customs"),
    ({"service": "PRIORITY_MAIL"}, "service"),
    ({"format": LabelFormat.PNG}, "format"),
    ({"customs": CUSTOMS.model_copy(update={"items": [CUSTOMS.items[0].model_copy(
        update={"description": "Merchandise"})]})}, "customs.items[0].description"),
    ({"customs": CUSTOMS.model_copy(update={"invoice_number": "INV-2024-000004410"})},
     "customs.invoice_number"),
    ({"customs": CUSTOMS.model_copy(update={"items": [CUSTOMS.items[0].model_copy(
        update={"unit_value": Decimal("900")})]})}, "customs.export_filing"),
    ({"customs": CUSTOMS.model_copy(update={"items": [CUSTOMS.items[0].model_copy(
        update={"currency": "AUD"})]})}, "customs.items[0].currency"),
])
def test_what_usps_would_refuse_is_refused_locally(changes: dict[str, object],
                                                   field: str) -> None:
    with pytest.raises(CarrierRejected) as caught:
        mapping.check_label(international(**changes))
    assert field in [m.field for m in caught.value.messages]


def test_a_domestic_label_has_no_international_rules() -> None:
    mapping.check_label(label_request())


def test_the_vendors_sample_reply_is_read() -> None:
    part = mapping.parse_label_part("application/vnd.usps.labels+json",
                                    json.dumps(fixture("international_label.json")).encode())
    assert part.tracking_number == "EZ000012162US"
    assert part.charge == Decimal("286.03")


@pytest.fixture
async def usps() -> AsyncIterator[UspsCarrier]:
    carrier = UspsCarrier("usps-main", UspsConfig.model_validate(OPTIONS), now=lambda: NOW)
    yield carrier
    await carrier.aclose()


async def test_an_international_purchase_and_its_cancel_use_the_international_paths(
        usps: UspsCarrier) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as router:
        mock_token(router)
        mock_payment(router)
        create = router.post("/international-labels/v3/international-label").respond(
            201, json=fixture("international_label.json"))
        cancel = router.delete(
            "/international-labels/v3/international-label/EZ000012162US").respond(
            200, json=fixture("international_cancel.json"))
        label = await usps.purchase(international(parcels=[BOX]),
                                    "lbl-au", carrier_key="0b7e7f5c-5c1e-4d2b-9a51-3f0e2d1c4b5a")
        result = await usps.void(label)

    sent = json.loads(create.calls.last.request.content)
    assert sent["customsForm"]["contents"][0]["countryofOrigin"] == "US"
    assert create.calls.last.request.headers["X-Idempotency-Key"] == (
        "0b7e7f5c-5c1e-4d2b-9a51-3f0e2d1c4b5a")
    assert label.tracking_number == "EZ000012162US"
    assert result.voided and cancel.called
