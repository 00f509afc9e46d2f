"""POST /admin/reload: a bad file is refused and changes nothing; a good one applies live."""

from __future__ import annotations

from pathlib import Path

from gateway.observability.reload import changed_sections
from gateway.settings import load_settings
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway

BASE = """
demo = true

[ratelimit]
default_plan = "default"
[ratelimit.plans.default.limits]
inventory = "{inventory}"
default = "1000/minute"

[cache.policies.inventory]
fresh_ttl = {fresh_ttl}
stale_while_revalidate = 30
stale_if_error = 300
"""

DEPRECATED_V1 = """
[[versioning.versions]]
name = "v1"
status = "deprecated"
deprecated_at = 2026-10-01T00:00:00Z
sunset = 2099-04-01T00:00:00Z
successor = "/v2"
[[versioning.versions]]
name = "v2"
"""

FALLBACK_CHF = """
[[shipping.accounts]]
id = "sandbox-main"
carrier = "sandbox"
warehouses = ["*"]
[[shipping.fallback.rules]]
warehouse = "*"
country = "US"
service = "table_ground"
service_level = "ground"
min_weight_kg = 0
max_weight_kg = 30
price = 19.90
currency = "CHF"
"""


def _write(path: Path, inventory: str = "1000/minute", fresh_ttl: int = 5, extra: str = ""
           ) -> None:
    path.write_text(BASE.format(inventory=inventory, fresh_ttl=fresh_ttl) + extra)


async def test_an_invalid_file_is_refused_with_its_errors_and_the_old_one_keeps_serving(
        tmp_path):
    config = tmp_path / "gateway.toml"
    _write(config, inventory="2/minute")
    async with gateway(load_settings(config), config_path=str(config)) as (_, client):
        assert (await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)).status_code == 200
        _write(config, inventory="many per minute", fresh_ttl=-1)
        refused = await client.post("/admin/reload", headers=ADMIN)
        config.write_text("[server\n")
        unparsable = await client.post("/admin/reload", headers=ADMIN)
        statuses = [(await client.get("/v1/inventory/SKU-0002", headers=STOREFRONT)).status_code
                    for _ in range(2)]
        metrics = (await client.get("/metrics", headers=ADMIN)).text
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in refused.json()["config_errors"]}
    assert "cache.policies.inventory.fresh_ttl" in fields
    assert any(f.startswith("ratelimit") for f in fields)
    assert "still serving the previous one" in refused.json()["detail"]
    assert unparsable.status_code == 422
    assert unparsable.json()["config_errors"][0]["field"] == "(toml)"
    assert statuses == [200, 429]  # still the old plan: 2 per minute
    assert 'gateway_config_reloads_total{outcome="refused"} 2.0' in metrics


async def test_a_valid_file_takes_effect_without_a_restart(tmp_path):
    config = tmp_path / "gateway.toml"
    _write(config, inventory="2/minute")
    async with gateway(load_settings(config), config_path=str(config)) as (app, client):
        for _ in range(2):
            await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        assert (await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)).status_code \
            == 429
        _write(config, inventory="1000/minute", fresh_ttl=60, extra=DEPRECATED_V1 + FALLBACK_CHF
               + '\n[server]\nport = 9999\n')
        applied = await client.post("/admin/reload", headers=ADMIN)
        after = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        effective = (await client.get("/admin/config", headers=ADMIN)).json()
        cache_policy = app.state.services.cache.config.policy("inventory")
        fallback = app.state.services.shipping.fallback
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["outcome"] == "applied"
    assert {"ratelimit.plans", "cache.policies", "versioning", "shipping.fallback"} <= set(
        body["applied"])
    # a new listener port and carrier accounts are read at start only
    assert "server.port" in body["restart_required"]
    assert "shipping.accounts" in body["restart_required"]
    assert after.status_code == 200  # the new plan
    assert after.headers["Deprecation"].startswith("@")  # v1 is deprecated now
    assert cache_policy.fresh_ttl == 60
    assert [r.currency for r in fallback.rules] == ["CHF"]
    # the running configuration shows what runs: the old port, the new plan
    assert effective["config"]["server"]["port"] == 8080
    assert effective["config"]["ratelimit"]["plans"]["default"]["limits"]["inventory"] == \
        "1000/minute"


async def test_the_same_file_again_is_unchanged(tmp_path):
    config = tmp_path / "gateway.toml"
    _write(config)
    async with gateway(load_settings(config), config_path=str(config)) as (_, client):
        again = await client.post("/admin/reload", headers=ADMIN)
        refused = await client.post("/admin/reload", headers=WAREHOUSE)
    assert again.json()["outcome"] == "unchanged"
    assert refused.status_code == 403


async def test_the_embedded_demo_has_nothing_to_reload():
    async with gateway() as (_, client):
        refused = await client.post("/admin/reload", headers=ADMIN)
    assert refused.status_code == 422
    assert "embedded demo" in refused.json()["detail"]


def test_changed_sections_separates_live_changes_from_restart_ones(tmp_path):
    config = tmp_path / "gateway.toml"
    _write(config)
    old = load_settings(config)
    _write(config, fresh_ttl=9, extra='[redis]\nurl = "redis://127.0.0.1:1/0"\n')
    live, restart = changed_sections(old, load_settings(config))
    assert live == ["cache.policies"]
    assert restart == ["redis"]
