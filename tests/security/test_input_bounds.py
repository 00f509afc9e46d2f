"""Hostile input: every dimension of a request is bounded and refused with a problem.

Each test sends the class of input, not one example: the worst a client can send in that
dimension, within and beyond its limit.
"""

from __future__ import annotations

import json

import pytest

from gateway.settings import Settings
from policies.limits import InputLimits
from policies.problems import PROBLEM_JSON
from policies.validation import decode_json, parse_query_string
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway

LIMITS = InputLimits()


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


# -- query strings ---------------------------------------------------------------------------

async def test_thousands_of_query_parameters_are_refused_before_any_parsing():
    query = "customer=CUST-001&" + "&".join(f"p{i}=1" for i in range(8_000))
    async with gateway() as (_, client):
        response = await client.get(f"/v1/prices/SKU-0001?{query}", headers=STOREFRONT)
        _problem(response, 414)
        # the same replica answers the next request at once
        assert (await client.get("/healthz")).status_code == 200


async def test_the_query_parameter_count_is_a_limit_of_its_own():
    many = "&".join(f"p{i}=1" for i in range(LIMITS.max_query_params))  # short, but many
    async with gateway() as (_, client):
        response = await client.get(f"/v1/prices/SKU-0001?customer=CUST-001&{many}",
                                    headers=STOREFRONT)
    assert "parameters" in _problem(response, 414)["detail"]


def test_the_query_parser_is_linear_and_keeps_repeats_as_lists():
    assert parse_query_string(b"a=1&b=2&a=3&c") == {"a": ["1", "3"], "b": "2", "c": ""}
    assert parse_query_string(b"q=HOSE+1%2F2") == {"q": "HOSE 1/2"}


@pytest.mark.parametrize("query", [b"customer=%FF", b"customer=a%0Ab", b"customer=%00"])
def test_undecodable_or_control_characters_in_a_query_are_a_400(query):
    from policies.problems import BadRequest

    with pytest.raises(BadRequest):
        parse_query_string(query)


@pytest.mark.parametrize("quantity", ["1_000", "1e3", " 1", "NaN", "0x10", "１", "+1", "Infinity"])
async def test_a_quantity_is_plain_decimal_notation_only(quantity):
    async with gateway() as (_, client):
        response = await client.get("/v1/prices/SKU-0001",
                                    params={"customer": "CUST-001", "quantity": quantity},
                                    headers=STOREFRONT)
    body = _problem(response, 422)
    assert body["errors"][0]["parameter"] == "quantity"


# -- paths -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/inventory/SKU-0001%0A", "/v1/inventory/SKU-0001%0D",
                                  "/v1/inventory/%20SKU-0001", "/v1/inventory/SKU%00"])
async def test_a_path_value_with_control_characters_or_edge_spaces_never_reaches_the_erp(path):
    async with gateway() as (app, client):
        calls = dict(app.state.services.erp.calls)
        response = await client.get(path, headers=STOREFRONT)
        assert dict(app.state.services.erp.calls) == calls
    assert _problem(response, 422)["errors"][0]["parameter"] == "sku"


async def test_a_path_beyond_its_limit_is_a_414():
    async with gateway() as (_, client):
        response = await client.get("/v1/inventory/" + "A" * LIMITS.max_path_bytes,
                                    headers=STOREFRONT)
    _problem(response, 414)


async def test_an_item_code_with_a_space_and_a_slash_is_one_percent_encoded_segment():
    async with gateway() as (_, client):
        response = await client.get("/v1/inventory/HOSE%201%2F2", headers=STOREFRONT)
    # the demo catalog has no such item: the code reached the catalog whole, as one SKU
    assert "HOSE 1/2" in _problem(response, 404)["detail"]


# -- headers ---------------------------------------------------------------------------------

async def test_too_many_header_fields_are_a_431():
    headers = [("X-API-Key", "demo-storefront-key")] + [
        (f"X-Filler-{i}", "x") for i in range(LIMITS.max_header_count)]
    async with gateway() as (_, client):
        response = await client.get("/v1/inventory/SKU-0001", headers=headers)
    _problem(response, 431)


async def test_header_bytes_beyond_the_limit_are_a_431_before_authentication():
    async with gateway() as (_, client):
        response = await client.get("/v1/inventory/SKU-0001",
                                    headers={"X-Filler": "x" * LIMITS.max_header_bytes})
    # 431, not 401: the bound is checked before any credential is looked at
    _problem(response, 431)


async def test_a_repeated_idempotency_key_header_is_refused():
    async with gateway() as (app, client):
        response = await client.post(
            "/v1/shipping/labels", json={},
            headers=[("X-API-Key", "demo-warehouse-key"), ("Idempotency-Key", "k-1"),
                     ("Idempotency-Key", "k-2")])
    assert "more than once" in _problem(response, 400)["detail"]


# -- JSON bodies -----------------------------------------------------------------------------

async def test_deep_json_is_a_400_on_every_json_endpoint():
    deep = "[" * 1000 + "]" * 1000
    shallow_enough = {"skus": ["SKU-0001"]}
    async with gateway() as (_, client):
        for path, headers in (("/v1/inventory/query", STOREFRONT), ("/v2/prices/query", STOREFRONT),
                              ("/v1/shipping/rates", WAREHOUSE), ("/admin/cache/purge", ADMIN)):
            response = await client.post(path, content=deep, headers={
                **headers, "Content-Type": "application/json"})
            assert "deeper" in _problem(response, 400)["detail"]
        ok = await client.post("/v1/inventory/query", json=shallow_enough, headers=STOREFRONT)
        assert ok.status_code == 200


def test_nesting_just_beyond_the_depth_limit_is_refused_and_at_it_accepted():
    at = "[" * LIMITS.max_json_depth + "]" * LIMITS.max_json_depth
    assert decode_json(at.encode()) == json.loads(at)
    beyond = "[" + at + "]"
    from policies.problems import BadRequest

    with pytest.raises(BadRequest, match="deeper"):
        decode_json(beyond.encode())


async def test_duplicate_object_keys_are_refused_not_last_wins():
    body = b'{"skus": ["SKU-0001"], "skus": ["SKU-0002"]}'
    nested = b'{"customer": "CUST-001", "items": [{"sku": "A", "sku": "B"}]}'
    async with gateway() as (_, client):
        for path, raw in (("/v1/inventory/query", body), ("/v1/prices/query", nested)):
            response = await client.post(path, content=raw, headers={
                **STOREFRONT, "Content-Type": "application/json"})
            assert "repeats the key" in _problem(response, 400)["detail"]


async def test_twenty_thousand_unknown_keys_get_a_bounded_problem():
    doc = {"skus": ["SKU-0001"], **{f"k{i}": 1 for i in range(20_000)}}
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", json=doc, headers=STOREFRONT)
    # 209 KB: beyond the body limit, refused before anything decodes it
    _problem(response, 413)
    assert len(response.content) < 2048


async def test_more_members_than_the_element_limit_are_a_400_before_validation():
    doc = {"skus": ["SKU-0001"], **{f"{i:x}": 1 for i in range(LIMITS.max_json_elements)}}
    raw = json.dumps(doc, separators=(",", ":")).encode()
    assert len(raw) < LIMITS.max_body_bytes
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", content=raw,
                                     headers={**STOREFRONT, "Content-Type": "application/json"})
    assert "array items and object members" in _problem(response, 400)["detail"]
    assert len(response.content) < 2048


@pytest.mark.parametrize("n", [LIMITS.max_errors_reported * 5, LIMITS.max_json_elements - 5])
async def test_validation_errors_are_listed_up_to_the_limit_then_counted(n):
    doc = {"skus": ["SKU-0001"], **{f"k{i}": 1 for i in range(n)}}
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", json=doc, headers=STOREFRONT)
    body = _problem(response, 422)
    assert body["errors"][0] == {"pointer": "#/k0", "detail": "Extra inputs are not permitted"}
    assert len(body["errors"]) == LIMITS.max_errors_reported
    assert body["errors_omitted"] == n - LIMITS.max_errors_reported
    assert f"(and {n - 1} more)" in body["detail"]


async def test_unknown_members_deep_in_a_body_are_listed_with_their_pointers():
    items = [{"sku": "SKU-0001", **{f"x{j}": 1 for j in range(5)}} for _ in range(100)]
    async with gateway() as (_, client):
        response = await client.post("/v1/prices/query", json={"customer": "CUST-001",
                                                               "items": items},
                                     headers=STOREFRONT)
    body = _problem(response, 422)
    assert len(body["errors"]) == LIMITS.max_errors_reported
    assert all(e["pointer"].startswith("#/items/") for e in body["errors"])
    assert body["errors_omitted"] == 500 - LIMITS.max_errors_reported


async def test_a_long_string_anywhere_in_a_body_is_refused():
    doc = {"skus": ["SKU-0001"], "warehouses": ["W" * (LIMITS.max_string_bytes + 1)]}
    async with gateway() as (_, client):
        response = await client.post("/v1/inventory/query", json=doc, headers=STOREFRONT)
    assert "string" in _problem(response, 400)["detail"]


async def test_a_signed_webhook_with_a_deep_body_is_a_400_not_a_500():
    import hashlib
    import hmac
    import time

    raw = ("[" * 1000 + "]" * 1000).encode()
    ts = str(int(time.time()))
    mac = hmac.new(b"demo-webhook-secret", ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
    async with gateway() as (_, client):
        response = await client.post("/webhooks/erp/demo", content=raw, headers={
            "Content-Type": "application/json", "X-Gateway-Timestamp": ts,
            "X-Gateway-Signature": f"v1={mac}"})
    _problem(response, 400)


async def test_the_limits_are_settings(tmp_path):
    settings = Settings.embedded_demo().model_copy(update={
        "limits": InputLimits(max_json_depth=2)})
    async with gateway(settings) as (_, client):
        response = await client.post("/v1/inventory/query",
                                     json={"skus": ["SKU-0001"], "warehouses": [["x"]]},
                                     headers=STOREFRONT)
    _problem(response, 400)


# -- methods ---------------------------------------------------------------------------------

async def test_options_lists_every_method_of_a_path():
    async with gateway() as (_, client):
        response = await client.options("/v1/shipping/labels/LBL-1", headers=WAREHOUSE)
        post = await client.options("/v1/shipping/labels", headers=WAREHOUSE)
    assert response.status_code == 204
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert post.headers["allow"] == "OPTIONS, POST"


async def test_a_wrong_method_gets_405_with_the_full_allow():
    async with gateway() as (_, client):
        response = await client.put("/v1/shipping/labels/LBL-1", headers=WAREHOUSE)
    body = _problem(response, 405)
    assert response.headers["allow"] == "DELETE, GET, HEAD, OPTIONS"
    assert "DELETE" in body["detail"]


# -- anchored patterns -----------------------------------------------------------------------

def test_a_request_id_with_a_trailing_newline_is_replaced_not_echoed():
    from policies.request_id import assign_request_id

    assert assign_request_id({"headers": [(b"x-request-id", b"abc-1")]}) == "abc-1"
    assert assign_request_id({"headers": [(b"x-request-id", b"abc-1\n")]}) != "abc-1\n"


def test_no_anchored_pattern_is_checked_with_match():
    # re.match with "$" accepts a trailing newline: anchored checks use fullmatch
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = []
    for package in ("gateway", "policies", "caching", "carriers"):
        for source in (root / package).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            anchored = set(re.findall(r'^(_[A-Z_]+) = re\.compile\(r?b?"\^[^\n]*\$"', text, re.M))
            offenders += [f"{source.name}: {name}.match" for name in anchored
                          if f"{name}.match(" in text]
    assert offenders == []
