"""The edge layers wired into the gateway: trusted proxies, CORS, ETag/304, gzip."""

from __future__ import annotations

import contextlib
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.settings import ConfigError, Settings, parse_settings
from policies.compression import CompressionConfig
from policies.conditional import entity_tag
from policies.cors import CorsConfig, CorsRule
from policies.proxies import ProxyConfig
from tests.support.app import ADMIN, STOREFRONT

SHOP = "https://shop.example.com"
TOKEN_FORM = {"grant_type": "client_credentials"}
STOREFRONT_CREDENTIALS = ("demo-storefront", "demo-storefront-secret")


@contextlib.asynccontextmanager
async def from_peer(settings: Settings, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway as a client at ``peer`` reaches it (plain http)."""
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield c


def https_required(**update: object) -> Settings:
    auth = Settings.embedded_demo().auth
    assert auth is not None  # the demo fills in its clients
    auth = auth.model_copy(update={"token": auth.token.model_copy(
        update={"require_https": True})})
    return Settings.embedded_demo().model_copy(update={"auth": auth, **update})


BEHIND_LB = https_required(proxies=ProxyConfig(trusted=["10.0.0.0/24"]))


async def test_the_token_endpoint_believes_https_from_a_trusted_proxy() -> None:
    async with from_peer(BEHIND_LB, "10.0.0.5") as client:
        token = await client.post("/oauth/token", data=TOKEN_FORM, auth=STOREFRONT_CREDENTIALS,
                                  headers={"X-Forwarded-For": "203.0.113.7",
                                           "X-Forwarded-Proto": "https"})
        plain = await client.post("/oauth/token", data=TOKEN_FORM, auth=STOREFRONT_CREDENTIALS,
                                  headers={"X-Forwarded-For": "203.0.113.7"})
    assert token.status_code == 200, token.text
    assert token.json()["token_type"].lower() == "bearer"
    assert plain.status_code == 400
    assert plain.json()["error"] == "insecure_transport"


async def test_a_spoofed_scheme_from_anyone_else_is_refused() -> None:
    async with from_peer(BEHIND_LB, "203.0.113.7") as client:
        spoofed = await client.post("/oauth/token", data=TOKEN_FORM,
                                    auth=STOREFRONT_CREDENTIALS,
                                    headers={"X-Forwarded-For": "10.0.0.5",
                                             "X-Forwarded-Proto": "https",
                                             "Forwarded": "for=10.0.0.5;proto=https"})
    assert spoofed.status_code == 400
    assert spoofed.json()["error"] == "insecure_transport"


async def test_failed_token_attempts_are_counted_per_forwarded_client() -> None:
    demo = Settings.embedded_demo()
    assert demo.auth is not None
    auth = demo.auth.model_copy(update={"token_attempts": demo.auth.token_attempts.model_copy(
        update={"per_address": "2/minute", "per_client": "100/minute"})})
    settings = demo.model_copy(update={"auth": auth,
                                       "proxies": ProxyConfig(trusted=["10.0.0.0/24"])})
    wrong = ("demo-storefront", "wrong-secret")

    async def attempt(client: httpx.AsyncClient, forwarded_for: str) -> int:
        answer = await client.post("/oauth/token", data=TOKEN_FORM, auth=wrong,
                                   headers={"X-Forwarded-For": forwarded_for})
        return answer.status_code

    async with from_peer(settings, "10.0.0.5") as balancer:
        first = [await attempt(balancer, "203.0.113.7") for _ in range(3)]
        # another client behind the same balancer has its own count
        other = await attempt(balancer, "203.0.113.8")
    async with from_peer(settings, "198.51.100.9") as direct:
        # a direct caller cannot rotate its address by writing the header
        rotating = [await attempt(direct, f"203.0.113.{i}") for i in range(20, 23)]
    assert first == [401, 401, 429]
    assert other == 401
    assert rotating == [401, 401, 429]


async def test_without_trusted_proxies_forwarding_headers_change_nothing() -> None:
    async with from_peer(https_required(), "10.0.0.5") as client:
        answer = await client.post("/oauth/token", data=TOKEN_FORM, auth=STOREFRONT_CREDENTIALS,
                                   headers={"X-Forwarded-Proto": "https"})
    assert answer.json()["error"] == "insecure_transport"


STOREFRONT_CORS = Settings.embedded_demo().model_copy(update={"cors": CorsConfig(rules=[
    CorsRule(route_groups=["inventory", "prices"], origins=[SHOP], clients=["demo-storefront"]),
])})


async def test_a_preflight_needs_no_credentials_and_the_answer_is_readable() -> None:
    async with from_peer(STOREFRONT_CORS, "127.0.0.1") as client:
        preflight = await client.options("/v2/inventory/query", headers={
            "Origin": SHOP, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key"})
        actual = await client.post("/v2/inventory/query", json={"skus": ["SKU-0001"]},
                                   headers={**STOREFRONT, "Origin": SHOP})
        admin = await client.get("/v1/inventory/SKU-0001", headers={**ADMIN, "Origin": SHOP})
        unauthenticated = await client.get("/v1/inventory/SKU-0001", headers={"Origin": SHOP})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == SHOP
    assert "RateLimit" in actual.headers["access-control-expose-headers"]
    assert actual.headers["vary"] == "Origin"
    # the rule names the storefront client: the admin's answers are not for browsers
    assert admin.status_code == 200 and "access-control-allow-origin" not in admin.headers
    assert unauthenticated.status_code == 401
    assert "access-control-allow-origin" not in unauthenticated.headers


def test_cors_rules_name_the_tables_route_groups() -> None:
    raw = {"demo": True, "cors": {"rules": [{"route_groups": ["inventory", "catalog"],
                                             "origins": [SHOP]}]}}
    with pytest.raises(ConfigError) as refused:
        parse_settings(raw, env={})
    assert refused.value.errors[0][0] == "cors"
    assert "unknown route group(s) catalog" in refused.value.errors[0][1]
    wildcard = {"demo": True, "cors": {"rules": [{"route_groups": ["inventory"],
                                                  "origins": ["*"], "allow_credentials": True}]}}
    with pytest.raises(ConfigError) as refused:
        parse_settings(wildcard, env={})
    assert refused.value.errors[0][0] == "cors.rules[0]"
    assert "wildcard origin" in refused.value.errors[0][1]


async def test_a_single_sku_read_answers_if_none_match_with_304() -> None:
    async with from_peer(Settings.embedded_demo(), "127.0.0.1") as client:
        first = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        etag = first.headers["etag"]
        again = await client.get("/v1/inventory/SKU-0001",
                                 headers={**STOREFRONT, "If-None-Match": etag})
        weak = await client.get("/v1/inventory/SKU-0001",
                                headers={**STOREFRONT, "If-None-Match": f'"x", W/{etag}'})
        other = await client.get("/v1/inventory/SKU-0001",
                                 headers={**STOREFRONT, "If-None-Match": '"stale"'})
        v2 = await client.get("/v2/inventory/SKU-0001", headers=STOREFRONT)
        price = await client.get("/v2/prices/SKU-0001?customer=CUST-001&quantity=5",
                                 headers=STOREFRONT)
        price_304 = await client.get("/v2/prices/SKU-0001?customer=CUST-001&quantity=5",
                                     headers={**STOREFRONT, "If-None-Match": price.headers["etag"]})
        other_quantity = await client.get("/v2/prices/SKU-0001?customer=CUST-001&quantity=50",
                                          headers={**STOREFRONT,
                                                   "If-None-Match": price.headers["etag"]})
        unauthenticated = await client.get("/v1/inventory/SKU-0001",
                                           headers={"If-None-Match": etag})
    assert etag.encode() == entity_tag(first.content)
    assert again.status_code == weak.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-status"].startswith("erp-gateway; hit")
    assert "x-request-id" in again.headers and "ratelimit" in again.headers
    assert "content-type" not in again.headers
    assert other.status_code == 200 and other.content == first.content
    assert v2.headers["etag"] != etag  # another representation, another tag
    assert price_304.status_code == 304
    assert other_quantity.status_code == 200
    assert other_quantity.headers["etag"] != price.headers["etag"]
    assert unauthenticated.status_code == 401  # a validator is no credential


async def test_a_post_query_carries_no_etag() -> None:
    async with from_peer(Settings.embedded_demo(), "127.0.0.1") as client:
        answer = await client.post("/v1/inventory/query", json={"skus": ["SKU-0001"]},
                                   headers={**STOREFRONT, "If-None-Match": "*"})
    assert answer.status_code == 200
    assert "etag" not in answer.headers


async def _raw(client: httpx.AsyncClient, method: str, path: str, **kw: object
               ) -> tuple[httpx.Response, bytes]:
    request = client.build_request(method, path, **kw)  # type: ignore[arg-type]
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, raw


async def test_large_answers_are_gzipped_and_small_ones_are_not() -> None:
    gz = {"Accept-Encoding": "gzip"}
    skus = [f"SKU-{i:04d}" for i in range(1, 101)]
    async with from_peer(Settings.embedded_demo(), "127.0.0.1") as client:
        document, document_raw = await _raw(client, "GET", "/openapi/v2.json", headers=gz)
        revalidated = await client.get("/openapi/v2.json",
                                       headers={**gz, "If-None-Match": document.headers["etag"]})
        query, query_raw = await _raw(client, "POST", "/v2/inventory/query", json={"skus": skus},
                                      headers={**STOREFRONT, **gz})
        single, single_raw = await _raw(client, "GET", "/v1/inventory/SKU-0001",
                                        headers={**STOREFRONT, **gz})
        problem, _ = await _raw(client, "GET", "/v1/inventory/SKU-0001", headers=gz)
    assert document.headers["content-encoding"] == "gzip"
    assert document.headers["etag"].startswith('W/"')
    assert gzip.decompress(document_raw).startswith(b"{")
    assert revalidated.status_code == 304
    assert query.headers["content-encoding"] == "gzip"
    assert len(gzip.decompress(query_raw)) > 4 * len(query_raw)
    assert query.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in single.headers
    assert single.headers["etag"] == entity_tag(single_raw).decode()  # strong, as sent
    assert "content-encoding" not in problem.headers  # problems are small


async def test_compression_can_be_switched_off() -> None:
    settings = Settings.embedded_demo().model_copy(
        update={"compression": CompressionConfig(enabled=False)})
    async with from_peer(settings, "127.0.0.1") as client:
        document, _ = await _raw(client, "GET", "/openapi/v2.json",
                                 headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in document.headers
