"""JSON log lines: the access line per request, event lines, and what they never hold."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

from gateway.observability.config import LogSettings
from gateway.observability.logs import ContextFilter, JsonFormatter, TextFormatter, log_config
from gateway.settings import Settings
from tests.support.app import ADMIN, STOREFRONT, gateway

ACCESS_FIELDS = {"time", "level", "logger", "message", "request_id", "client_id", "operation",
                 "method", "path", "status", "latency_ms", "bytes", "client_ip"}


@contextlib.contextmanager
def json_lines(*names: str) -> Iterator[io.StringIO]:
    """What the named loggers write through the gateway's JSON formatter."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    try:
        yield out
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def _records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_an_access_line_is_json_with_the_fields_and_no_secret_or_customer_id():
    key = STOREFRONT["X-API-Key"]
    with json_lines("gateway.access") as out:
        async with gateway() as (_, client):
            first = await client.get("/v1/prices/SKU-0001?customer=CUST-001&quantity=5",
                                     headers={**STOREFRONT, "X-Request-ID": "req-42-abc"})
            await client.get("/v1/prices/SKU-0001?customer=CUST-001&quantity=5",
                             headers=STOREFRONT)
            await client.get("/v1/inventory/SKU-0001", headers={"Authorization": "Bearer x.y.z"})
    assert first.status_code == 200
    text = out.getvalue()
    assert "CUST-001" not in text and key not in text and "x.y.z" not in text
    miss, hit, refused = _records(out)
    assert ACCESS_FIELDS <= set(miss), ACCESS_FIELDS - set(miss)
    assert miss["request_id"] == "req-42-abc" and miss["client_id"] == "demo-storefront"
    assert miss["operation"] == "getPriceV1" and miss["method"] == "GET"
    assert miss["status"] == 200 and miss["level"] == "info"
    assert miss["query"] == "customer=*&quantity=*"
    assert (miss["cache"], hit["cache"]) == ("miss", "hit")
    assert miss["bytes"] == len(first.content)
    assert isinstance(miss["latency_ms"], float) and miss["latency_ms"] > 0
    assert str(miss["time"]).endswith("Z")
    assert refused["status"] == 401 and refused["operation"] == "getInventoryV1"
    assert refused["client_id"] == "-" and refused["refused_by"] == "auth"


async def test_query_values_are_shown_only_when_configured():
    settings = Settings.embedded_demo().model_copy(
        update={"logging": LogSettings(query_values="shown")})
    with json_lines("gateway.access") as out:
        async with gateway(settings) as (_, client):
            await client.get("/v1/prices/SKU-0001?customer=CUST-001&quantity=5",
                             headers=STOREFRONT)
    (line,) = _records(out)
    assert line["query"] == "customer=CUST-001&quantity=5"


async def test_breaker_transitions_are_event_lines_with_the_request_id():
    with json_lines("gateway.upstream") as out:
        async with gateway() as (app, client):
            breaker = app.state.services.shipping.registry.get("sandbox-main").breaker
            opened = await client.post("/admin/carriers/sandbox-main/open",
                                       headers={**ADMIN, "X-Request-ID": "ops-7"})
            breaker.reset()
    assert opened.status_code == 200
    opened_line, closed_line = _records(out)
    assert opened_line["event"] == "breaker_transition" and opened_line["level"] == "warning"
    assert opened_line["request_id"] == "ops-7"
    assert (opened_line["from_state"], opened_line["to_state"]) == ("closed", "open")
    assert closed_line["to_state"] == "closed" and "request_id" not in closed_line


def test_text_format_and_the_dictconfig_document():
    record = logging.LogRecord("gateway", logging.WARNING, __file__, 1, "Redis lost: %s",
                               ("cache",), None)
    record.event = "redis_lost"
    line = TextFormatter().format(record)
    assert " WARNING gateway: Redis lost: cache event=redis_lost" in line
    config = log_config(LogSettings(level="warning", access_log=False))
    assert config["root"]["level"] == "WARNING"
    assert config["loggers"]["gateway.access"]["level"] == "CRITICAL"
    assert config["loggers"]["uvicorn.access"]["handlers"] == []


async def test_a_webhook_eviction_is_an_event_line_without_the_ids_it_evicted():
    import time

    from policies.webhook_signature import sign
    from tests.support.metrics import value

    raw = json.dumps({"customers": ["CUST-001"], "skus": ["SKU-0001"]}).encode()
    with json_lines("gateway") as out:
        async with gateway() as (_, client):
            answer = await client.post("/webhooks/erp/demo", content=raw, headers={
                "Content-Type": "application/json",
                **sign(raw, b"demo-webhook-secret", int(time.time()))})
            text = (await client.get("/metrics", headers=ADMIN)).text
    assert answer.status_code == 200
    (line,) = [r for r in _records(out) if r.get("event") == "webhook_eviction"]
    assert line["source"] == "demo" and line["tags"] == 2 and line["level"] == "info"
    assert "CUST-001" not in out.getvalue()
    assert value(text, "gateway_webhook_evictions_total", source="demo") == 1
