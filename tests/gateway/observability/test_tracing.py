"""Traces with the OpenTelemetry SDK's in-memory exporter; the gateway without the extra."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import respx
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from carriers.http import carrier_client
from gateway.erp.demo.http import HttpDemoConfig
from gateway.observability.tracing import Tracing, install_propagation
from gateway.settings import Settings
from tests.support.app import STOREFRONT, WAREHOUSE, gateway

# W3C Trace Context, section 3.2 (the specification's own example)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_a_request_is_a_server_span_with_children_for_the_cache_fill_and_erp_call(spans):
    provider, exporter = spans
    async with gateway(tracer_provider=provider) as (_, client):
        answer = await client.get("/v1/inventory/SKU-0001",
                                  headers={**STOREFRONT, "traceparent": TRACEPARENT})
    assert answer.status_code == 200
    finished = exporter.get_finished_spans()
    server = next(s for s in finished if s.kind is SpanKind.SERVER)
    assert server.name == "GET /v1/inventory/{sku}"
    assert server.attributes["gateway.operation"] == "getInventoryV1"
    assert server.attributes["http.response.status_code"] == 200
    # the caller's trace is continued, not replaced
    assert server.context.trace_id == TRACE_ID
    assert server.parent is not None and server.parent.span_id == 0x00F067AA0BA902B7
    erp = next(s for s in finished if s.name == "erp availability")
    assert erp.context.trace_id == TRACE_ID and erp.kind is SpanKind.CLIENT
    assert erp.attributes["erp.connector"] == "demo"
    fill = next(s for s in finished if s.name == "cache fill inventory")
    assert erp.parent.span_id == fill.context.span_id
    assert fill.parent.span_id == server.context.span_id


async def test_carrier_calls_are_child_spans_per_account(spans):
    provider, exporter = spans
    shipment = {
        "warehouse": "WH-EAST",
        "ship_from": {"name": "East DC", "street": ["1 Dock Rd"], "city": "Newark",
                      "postal_code": "07101", "country": "US"},
        "ship_to": {"name": "A. Buyer", "street": ["9 Elm St"], "city": "Denver",
                    "postal_code": "80202", "country": "US"},
        "parcels": [{"weight": "2.5"}],
    }
    async with gateway(tracer_provider=provider) as (_, client):
        assert (await client.post("/v1/shipping/rates", json=shipment,
                                  headers=WAREHOUSE)).status_code == 200
    finished = exporter.get_finished_spans()
    server = next(s for s in finished if s.kind is SpanKind.SERVER)
    rates = [s for s in finished if s.name == "carrier rate"]
    assert {s.attributes["carrier.account"] for s in rates} == {"sandbox-main",
                                                                "sandbox-backup"}
    assert all(s.parent.span_id == server.context.span_id for s in rates)


@respx.mock(assert_all_called=True)
async def test_traceparent_goes_to_the_erp_and_to_the_carriers(spans, respx_mock):
    provider, _ = spans
    install_propagation()
    tracer = Tracing(provider.get_tracer("test"), provider)
    # the demo ERP's wire format (gateway.erp.demo.server, gateway.erp.wire)
    erp = respx_mock.post("http://erp.test/api/availability").mock(return_value=httpx.Response(
        200, json={"items": [{"sku": "SKU-0001", "warehouses": [
            {"warehouse": "WH-EAST", "on_hand": "12.5", "available": "10",
             "next_receipt_date": None, "next_receipt_quantity": None}]}]}))
    carrier = respx_mock.get("https://carrier.test/track/1Z999").mock(
        return_value=httpx.Response(200, json={}))
    settings = Settings.embedded_demo().model_copy(
        update={"erp": HttpDemoConfig(url="http://erp.test")})
    async with gateway(settings, tracer_provider=provider) as (_, client):
        answer = await client.get("/v1/inventory/SKU-0001",
                                  headers={**STOREFRONT, "traceparent": TRACEPARENT})
    assert answer.status_code == 200, answer.text
    sent = erp.calls.last.request.headers["traceparent"]
    assert sent.startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")
    assert not sent.endswith("-00f067aa0ba902b7-01")  # the parent is our span, not theirs
    async with carrier_client("https://carrier.test", 5) as http:
        with tracer.span("carrier track"):
            await http.get("/track/1Z999")
    assert len(carrier.calls.last.request.headers["traceparent"]) == 55


def test_the_gateway_runs_without_the_otel_extra():
    # OpenTelemetry made unimportable: what a plain `pip install erp-gateway` gives
    program = """
import asyncio, sys
sys.modules["opentelemetry"] = None
from gateway.observability.config import TracingSettings
from gateway.observability.tracing import build_tracing, otel_installed
from tests.support.app import STOREFRONT, gateway
from gateway.settings import Settings

async def main():
    assert not otel_installed()
    assert not build_tracing(TracingSettings(enabled=True)).enabled
    async with gateway() as (_, client):
        answer = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    assert answer.status_code == 200, answer.status_code
    print("served without opentelemetry")

asyncio.run(main())
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "served without opentelemetry" in done.stdout
    assert "pip install 'erp-gateway[otel]'" in done.stderr  # enabled, so it said why not
