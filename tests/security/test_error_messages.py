"""Problem details carry the whole message: ids keep both their quotes."""

from __future__ import annotations

from gateway.settings import Settings
from tests.security.conftest import key_of
from tests.security.test_label_tenancy import label_body
from tests.support.app import gateway


async def test_unknown_accounts_and_labels_are_named_in_full(settings: Settings) -> None:
    body = {**label_body(), "carrier": "no-such-account"}
    async with gateway(settings) as (_, client):
        label = await client.post("/v1/shipping/labels", json=body,
                                  headers={**key_of("wms-a"), "Idempotency-Key": "k-1"})
        track = await client.get("/v1/shipping/tracking/nocarrier/1Z999AA10123456784",
                                 headers=key_of("wms-a"))
        reprint = await client.get("/v1/shipping/labels/abc", headers=key_of("wms-a"))
    assert label.status_code == 422
    assert label.json()["detail"] == ("no carrier account 'no-such-account' serves "
                                      "warehouse WH-EAST")
    assert track.status_code == 404
    assert track.json()["detail"] == "no carrier account or code 'nocarrier' tracks here"
    assert reprint.status_code == 404
    assert reprint.json()["detail"] == "no label 'abc'"
