"""Admin: breakers forced open and reset per worker, the running config, the clients."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.routes.admin import REDACTED, redact
from gateway.settings import load_settings
from policies.auth.hashing import hash_api_key
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway
from tests.support.served import config_text

SHIPMENT = {
    "warehouse": "WH-EAST",
    "ship_from": {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                  "postal_code": "07101", "country": "US"},
    "ship_to": {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver",
                "postal_code": "80202", "country": "US"},
    "parcels": [{"weight": "2.5"}],
}


async def test_a_breaker_forced_open_stays_open_until_reset_and_says_which_worker():
    async with gateway() as (_, client):
        opened = await client.post("/admin/carriers/sandbox-main/open", headers=ADMIN)
        rated = await client.post("/v1/shipping/rates", json=SHIPMENT, headers=WAREHOUSE)
        status = await client.get("/admin/carriers", headers=ADMIN)
        reset = await client.post("/admin/carriers/sandbox-main/reset", headers=ADMIN)
        again = await client.post("/v1/shipping/rates", json=SHIPMENT, headers=WAREHOUSE)
        unknown = await client.post("/admin/carriers/nope/open", headers=ADMIN)
        refused = await client.post("/admin/carriers/sandbox-main/open", headers=WAREHOUSE)
    assert opened.status_code == 200
    assert opened.json()["worker"] == os.getpid()
    assert opened.json()["account"]["state"] == "open"
    assert opened.json()["account"]["forced_open"] is True
    main = [r for r in rated.json()["rates"] if r["carrier_account"] == "sandbox-main"]
    assert main and all(r["source"] == "fallback" for r in main)
    states = {a["account"]: a["state"] for a in status.json()["accounts"]}
    assert states == {"sandbox-main": "open", "sandbox-backup": "closed"}
    assert status.json()["worker"] == os.getpid()
    assert reset.json()["account"]["state"] == "closed"
    live = [r for r in again.json()["rates"] if r["carrier_account"] == "sandbox-main"]
    assert live and all(r["source"] != "fallback" for r in live)
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    assert refused.status_code == 403


async def test_the_running_configuration_is_shown_without_credentials(tmp_path: Path):
    config = tmp_path / "gateway.toml"
    config.write_text(config_text(8081, 1, 0, extra='''
[redis]
url = "redis://:hunter2-redis@127.0.0.1:6390/0"
[webhooks.erpnext]
secrets = ["erpnext-webhook-secret-1"]
'''))
    text = config.read_text()
    admin_key = "served-admin-key-1"
    async with gateway(load_settings(config), config_path=str(config)) as (_, client):
        shown = await client.get("/admin/config", headers={"X-API-Key": admin_key})
        listed = await client.get("/admin/clients", headers={"X-API-Key": admin_key})
    assert shown.status_code == 200
    body = shown.text
    for secret in ("hunter2-redis", "erpnext-webhook-secret-1", "PRIVATE KEY",
                   hash_api_key(admin_key), text.split('private_key_pem = """')[1][:40]):
        assert secret not in body
    doc = shown.json()
    assert doc["source"] == str(config)
    assert doc["config"]["redis"]["url"] == f"redis://{REDACTED}@127.0.0.1:6390/0"
    assert doc["config"]["auth"]["signing_keys"][0]["private_key_pem"] == REDACTED
    assert doc["config"]["auth"]["clients"][0]["api_key_hashes"] == [REDACTED]
    assert doc["config"]["auth"]["token"]["issuer"] == "https://gateway.test"
    assert doc["config"]["server"]["drain_seconds"] == 0
    clients = {c["id"]: c for c in listed.json()["clients"]}
    assert clients["ops"] == {"id": "ops", "scopes": ["admin"], "plan": "default",
                              "versions": [], "api_keys": 1, "client_secret": False}
    assert "hash" not in listed.text


def test_redaction_goes_by_key_name_and_url_user_info():
    doc = {"shipping": {"accounts": [{"options": {"client_id": "abc",
                                                  "client_secret": "s3cr3t",
                                                  "password": "pw", "account_number": "A1"}}]},
           "erp": {"url": "https://gw:pw@erp.example/"}, "note": None}
    out = redact(doc)
    options = out["shipping"]["accounts"][0]["options"]
    assert options == {"client_id": "abc", "client_secret": REDACTED, "password": REDACTED,
                       "account_number": "A1"}
    assert out["erp"]["url"] == f"https://{REDACTED}@erp.example/" and out["note"] is None


async def test_healthz_says_the_version():
    from gateway.version import version

    async with gateway() as (_, client):
        answer = await client.get("/healthz")
        refused = await client.get("/admin/config", headers=STOREFRONT)
    assert answer.json() == {"status": "ok", "version": version()}
    assert refused.status_code == 403
