"""Configuration fails safe: no silent demo ERP or sandbox carriers, no silent default plan."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from gateway.settings import ConfigError, Settings, parse_settings
from policies.auth import hash_api_key, hash_secret
from policies.auth.keys import generate_ed25519_pem
from policies.problems import PROBLEM_JSON
from tests.security.conftest import auth_config, key_of
from tests.support.app import gateway

README = Path(__file__).resolve().parents[2] / "README.md"


def _auth() -> dict[str, Any]:
    return {"token": {"issuer": "https://gw.example", "audience": "gw"},
            "signing_keys": [{"kid": "k1", "algorithm": "Ed25519",
                              "private_key_pem": generate_ed25519_pem()}],
            "clients": [{"id": "shop", "api_key_hashes": [hash_api_key("shop-key")],
                         "scopes": ["inventory:read"]}]}


def _errors(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, env={})
    return dict(caught.value.errors)


def test_a_config_without_erp_or_shipping_is_refused_naming_both() -> None:
    errors = _errors({"auth": _auth()})
    assert set(errors) == {"erp", "shipping"}
    assert 'kind = "none"' in errors["erp"]
    assert "accounts = []" in errors["shipping"]
    assert set(_errors({"auth": _auth(), "shipping": {"accounts": []}})) == {"erp"}
    assert set(_errors({"auth": _auth(), "erp": {"kind": "none"}})) == {"shipping"}


def test_the_demo_erp_is_refused_outside_demo_mode() -> None:
    errors = _errors({"auth": _auth(), "erp": {"kind": "demo"}, "shipping": {"accounts": []}})
    assert list(errors) == ["erp.kind"]


def test_a_client_on_an_undefined_plan_is_refused_with_its_field_path() -> None:
    raw: dict[str, Any] = {"auth": _auth(), "erp": {"kind": "none"}, "shipping": {"accounts": []}}
    raw["auth"]["clients"].append({"id": "wms", "api_key_hashes": [hash_api_key("wms-key")],
                                   "scopes": ["labels:write"], "plan": "warehouse"})
    raw["auth"]["external_issuers"] = [{"issuer": "https://idp", "jwks_url": "https://idp/k",
                                        "audience": "gw", "plan": "partner"}]
    errors = _errors(raw)
    assert errors == {
        "auth.clients[1].plan":
            "plan 'warehouse' is not defined in [ratelimit.plans] (defined: default)",
        "auth.external_issuers[0].plan":
            "plan 'partner' is not defined in [ratelimit.plans] (defined: default)",
    }
    # the demo is no exception
    with pytest.raises(ValueError, match=r"auth\.clients\[0\]\.plan"):
        Settings(demo=True, auth=auth_config().model_copy(update={"clients": [
            auth_config().clients[0].model_copy(update={"plan": "gold"})]}))


def test_check_config_prints_the_plan_error_with_its_path(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    config = tmp_path / "gw.toml"
    config.write_text(f'''
[erp]
kind = "none"
[shipping]
accounts = []
[auth.token]
issuer = "https://gw.example"
audience = "gw"
[[auth.signing_keys]]
kid = "k1"
algorithm = "Ed25519"
private_key_path = "{tmp_path / "key.pem"}"
[[auth.clients]]
id = "shop"
api_key_hashes = ["{hash_api_key("shop-key")}"]
scopes = ["inventory:read"]
plan = "storefront"
''')
    assert main(["check-config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "auth.clients[0].plan: plan 'storefront' is not defined" in err


async def test_kind_none_answers_503_on_catalog_routes_and_no_carriers_rate_nothing() -> None:
    settings = Settings(auth=auth_config(), erp={"kind": "none"}, shipping={"accounts": []},
                        ratelimit={"plans": {"tight": {}}})
    async with gateway(settings) as (_, client):
        stock = await client.get("/v1/inventory/SKU-0001", headers=key_of("wms-a"))
        ready = await client.get("/readyz")
    assert stock.status_code == 503
    assert stock.headers["content-type"] == PROBLEM_JSON
    assert "retry-after" not in stock.headers
    assert stock.json()["detail"] == ('the ERP is unavailable: no ERP is configured for this '
                                      'gateway ([erp] kind = "none")')
    assert ready.status_code == 200


def test_the_readme_tryton_example_loads() -> None:
    text = README.read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```toml\n(.*?)```", text, re.S)
                 if 'kind = "tryton"' in b)
    block = block.replace('"scrypt$32768$8$1$…"', f'"{hash_secret("s", n=2**10)}"')
    block = block.replace('"sha256$…"', f'"{hash_api_key("k")}"')
    import tomllib

    env = {"TRYTON_PASSWORD": "p", "GATEWAY_SIGNING_KEY": generate_ed25519_pem(),
           "UPS_CLIENT_ID": "id", "UPS_CLIENT_SECRET": "secret"}
    settings = parse_settings(tomllib.loads(block), "README", env=env)
    assert settings.erp is not None and settings.erp.kind == "tryton"
    assert settings.auth is not None
    assert {c.plan for c in settings.auth.clients} <= set(settings.ratelimit.plans)
