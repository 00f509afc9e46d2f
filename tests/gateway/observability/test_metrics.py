"""The /metrics exposition: parseable, documented, conventionally named, and counting right."""

from __future__ import annotations

import re
import uuid

from prometheus_client.parser import text_string_to_metric_families

from gateway.settings import Settings
from policies.ratelimit import PlanConfig
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway
from tests.support.metrics import families, value

SHIPMENT = {
    "warehouse": "WH-EAST",
    "ship_from": {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                  "postal_code": "07101", "country": "US"},
    "ship_to": {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver",
                "postal_code": "80202", "country": "US"},
    "parcels": [{"weight": "2.5", "dimensions": {"length": 30, "width": 20, "height": 10}}],
}


async def _scrape_after_traffic() -> str:
    async with gateway() as (_, client):
        await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        await client.get("/v1/prices/SKU-0001?customer=CUST-001&quantity=5", headers=STOREFRONT)
        await client.get("/v1/prices/SKU-0001", headers={"X-API-Key": "wrong"})
        await client.post("/v1/shipping/rates", json=SHIPMENT, headers=WAREHOUSE)
        return (await client.get("/metrics", headers=ADMIN)).text


async def test_every_family_has_help_and_type_and_parses():
    text = await _scrape_after_traffic()
    parsed = list(text_string_to_metric_families(text))
    assert len(parsed) >= 30
    helps = set(re.findall(r"^# HELP (\S+) \S", text, re.MULTILINE))
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    for family in parsed:
        exposed = family.name + ("_total" if family.type == "counter" else "")
        assert exposed in helps, exposed
        assert types[exposed] == family.type, exposed
        assert family.documentation, family.name
    # every sample belongs to a family announced with HELP and TYPE
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = line.split("{")[0].split(" ")[0]
            base = re.sub(r"_(bucket|count|sum|created)$", "", name)
            assert base in types or name in types, line


async def test_names_follow_the_conventions_and_labels_hold_no_raw_paths():
    text = await _scrape_after_traffic()
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("gateway_"), family.name
        if family.type == "histogram":
            assert family.name.endswith("_seconds"), family.name
        for sample in family.samples:
            if family.type == "counter" and not sample.name.endswith("_created"):
                assert sample.name.endswith("_total"), sample.name
            for label, v in sample.labels.items():
                assert "/" not in v, (sample.name, label, v)  # templates and ids, not paths
                assert "CUST-" not in v and "SKU-" not in v, (sample.name, label, v)


async def test_requests_are_counted_by_operation_method_status_and_client():
    text = await _scrape_after_traffic()
    assert value(text, "gateway_requests_total", operation="getInventoryV1", method="GET",
                 status="200", client="demo-storefront") == 1
    assert value(text, "gateway_requests_total", operation="rateShopV1", method="POST",
                 status="200", client="demo-warehouse") == 1
    assert value(text, "gateway_request_duration_seconds_count", operation="getPriceV1") == 2
    assert value(text, "gateway_response_body_bytes_total", operation="getInventoryV1") > 100


async def test_a_refused_request_is_counted_on_the_operation_it_asked_for():
    text = await _scrape_after_traffic()
    assert value(text, "gateway_requests_total", operation="getPriceV1", status="401",
                 client="-") == 1
    assert value(text, "gateway_requests_total", operation="unmatched") == 0
    assert value(text, "gateway_gate_refusals_total", operation="getPriceV1", gate="auth",
                 reason="unauthorized") == 1


async def test_rate_limit_and_version_refusals_name_their_gate():
    settings = Settings.embedded_demo()
    limits = dict(settings.ratelimit.plans["default"].limits, inventory="2/minute")
    settings = settings.model_copy(update={"ratelimit": settings.ratelimit.model_copy(
        update={"plans": {"default": PlanConfig(limits=limits)}})})
    async with gateway(settings) as (_, client):
        statuses = [(await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)).status_code
                    for _ in range(3)]
        unknown = await client.get("/v9/inventory/SKU-0001", headers=STOREFRONT)
        text = (await client.get("/metrics", headers=ADMIN)).text
    assert statuses == [200, 200, 429] and unknown.status_code == 404
    assert value(text, "gateway_gate_refusals_total", operation="getInventoryV1",
                 gate="ratelimit", reason="rate-limited") == 1
    assert value(text, "gateway_gate_refusals_total", gate="version", reason="not-found") == 1


async def test_cache_and_erp_calls_are_counted_by_data_class():
    async with gateway() as (_, client):
        for _ in range(3):
            await client.get("/v1/prices/SKU-0001?customer=CUST-001&quantity=5",
                             headers=STOREFRONT)
        await client.post("/v1/inventory/query", json={"skus": ["SKU-0001", "SKU-0002"]},
                          headers=STOREFRONT)
        text = (await client.get("/metrics", headers=ADMIN)).text
    lookups = "gateway_cache_lookups_total"
    assert value(text, lookups, data_class="prices", result="miss") == 1
    assert value(text, lookups, data_class="prices", result="hit") == 2
    assert value(text, lookups, data_class="inventory", result="miss") == 2
    assert value(text, "gateway_cache_erp_calls_total", data_class="inventory",
                 outcome="ok") == 1  # one batch for both SKUs
    assert value(text, "gateway_erp_calls_total", call="prices", outcome="ok") == 1
    assert value(text, "gateway_erp_call_duration_seconds_count", call="availability") == 1


async def test_carrier_calls_breakers_and_fallbacks_are_counted_per_account():
    async with gateway() as (app, client):
        shipping = app.state.services.shipping
        shipping.registry.get("sandbox-backup").breaker.force_open()
        rated = await client.post("/v1/shipping/rates", json=SHIPMENT, headers=WAREHOUSE)
        text = (await client.get("/metrics", headers=ADMIN)).text
    assert rated.status_code == 200
    calls = "gateway_carrier_calls_total"
    assert value(text, calls, account="sandbox-main", operation="rate", outcome="ok") == 1
    assert value(text, calls, account="sandbox-backup", operation="rate",
                 outcome="breaker_open") == 1
    assert value(text, "gateway_carrier_call_duration_seconds_count",
                 account="sandbox-main") == 1
    assert value(text, "gateway_breaker_transitions_total", account="sandbox-backup",
                 from_state="closed", to_state="open") == 1
    assert value(text, "gateway_breaker_state", account="sandbox-backup", state="open") == 1
    assert value(text, "gateway_breaker_state", account="sandbox-main", state="closed") == 1
    fallback_rates = sum(1 for r in rated.json()["rates"] if r["source"] == "fallback")
    assert fallback_rates >= 1
    assert value(text, "gateway_shipping_fallback_rates_total") == fallback_rates
    assert value(text, "gateway_shipping_fallbacks_total") == 1


async def test_process_and_build_figures_are_exported():
    text = await _scrape_after_traffic()
    names = families(text)
    assert value(text, "gateway_process_resident_memory_bytes") > 1e6
    assert value(text, "gateway_process_open_fds") > 0
    assert names["gateway_build_info"][0].labels["version"]
    assert {s.labels["component"] for s in names["gateway_redis_degraded"]} == {
        "cache", "ratelimit"}


async def test_label_purchases_and_idempotent_replays_are_counted():
    label = {"carrier": "sandbox-main", "service": "ground", "format": "pdf", **SHIPMENT}
    # the demo's label records outlive the test (a file): a key of its own
    headers = {**WAREHOUSE, "Idempotency-Key": f"order-1001-box-{uuid.uuid4().hex}"}
    async with gateway() as (_, client):
        first = await client.post("/v1/shipping/labels", json=label, headers=headers)
        again = await client.post("/v1/shipping/labels", json=label, headers=headers)
        text = (await client.get("/metrics", headers=ADMIN)).text
    assert first.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert value(text, "gateway_label_purchases_total", outcome="bought") == 1
    assert value(text, "gateway_label_purchases_total", outcome="replayed") == 1
    assert value(text, "gateway_carrier_calls_total", operation="label", outcome="ok") == 1


async def test_the_dashboard_queries_only_families_the_gateway_exports():
    import json
    from pathlib import Path

    dashboard = json.loads((Path(__file__).parents[3] / "deploy" / "grafana" /
                            "erp-gateway-dashboard.json").read_text())
    text = await _scrape_after_traffic()
    exported = {s.name for samples in families(text).values() for s in samples} | {
        f.name + suffix for f in text_string_to_metric_families(text)
        for suffix in ("", "_total", "_bucket")}
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b(gateway_[a-z_]+)", target["expr"]):
                assert name in exported, (panel["title"], name)
