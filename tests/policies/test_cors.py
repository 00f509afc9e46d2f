"""CORS: preflights without credentials, exact origin matching, refusals at load."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from policies.auth.types import PRINCIPAL_STATE_KEY, Principal
from policies.cors import PRINCIPAL_STATE_KEY as CORS_PRINCIPAL_KEY
from policies.cors import CorsConfig, CorsMiddleware, CorsRule
from policies.problems import Unauthorized

SHOP = "https://shop.example.com"


def _principal(client_id: str) -> Principal:
    return Principal(client_id=client_id, scopes=frozenset(), plan="default",
                     versions=frozenset(), method="api_key")


async def _guarded(scope: Scope, receive: Receive, send: Send) -> None:
    """An app behind auth: 401 without an API key, else 200 naming the client."""
    key = dict(scope["headers"]).get(b"x-api-key")
    if key is None:
        await Unauthorized("no credentials")(scope, receive, send)
        return
    scope.setdefault("state", {})[PRINCIPAL_STATE_KEY] = _principal(key.decode())
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"vary", b"Accept")]})
    await send({"type": "http.response.body", "body": b"{}"})


def _client(*rules: CorsRule) -> httpx.AsyncClient:
    app = CorsMiddleware(_guarded, CorsConfig(rules=list(rules)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


STOREFRONT_RULE = CorsRule(path_prefixes=["/*/inventory", "/*/prices"],
                           origins=[SHOP, "https://*.shops.example.net"])


def _preflight(origin: str, method: str = "GET", headers: str = "x-api-key") -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers}


def test_the_principal_key_matches_auths() -> None:
    assert CORS_PRINCIPAL_KEY == PRINCIPAL_STATE_KEY


async def test_a_preflight_is_answered_without_credentials() -> None:
    async with _client(STOREFRONT_RULE) as client:
        answer = await client.options("/v2/inventory/SKU-1",
                                      headers=_preflight(SHOP, "POST", "Content-Type, X-API-Key"))
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "X-API-Key" in answer.headers["access-control-allow-headers"]
    assert answer.headers["access-control-max-age"] == "600"
    assert answer.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in answer.headers


async def test_an_actual_request_from_an_allowed_origin_can_be_read() -> None:
    async with _client(STOREFRONT_RULE) as client:
        answer = await client.get("/v1/inventory/SKU-1",
                                  headers={"Origin": SHOP, "X-API-Key": "acme"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    assert "ETag" in answer.headers["access-control-expose-headers"]
    assert answer.headers["vary"] == "Accept, Origin"


async def test_an_error_answer_is_readable_too() -> None:
    # the page can show the 401's detail instead of an opaque network error
    async with _client(STOREFRONT_RULE) as client:
        answer = await client.get("/v1/inventory/SKU-1", headers={"Origin": SHOP})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == SHOP


@pytest.mark.parametrize("origin", [
    "https://shop.example.com.evil.com",  # suffix trick
    "https://evilshop.example.com",
    "https://shop.example.co",
    "http://shop.example.com",  # another scheme is another origin
    "https://shop.example.com:8443",  # another port too
    "HTTPS://SHOP.EXAMPLE.COM",  # no browser serializes an origin like this
    "https://shop.example.com/",
    "null",
    "",
    "https://shops.example.net",  # the wildcard covers subdomains, not the domain itself
    "https://evilshops.example.net",
    "https://x.shops.example.net.evil.com",
    "https://*.shops.example.net",
    "https://a..shops.example.net",
])
async def test_origins_that_are_not_allowed_get_no_cors_headers(origin: str) -> None:
    async with _client(STOREFRONT_RULE) as client:
        actual = await client.get("/v1/inventory/SKU-1",
                                  headers={"Origin": origin, "X-API-Key": "acme"})
        preflight = await client.options("/v1/inventory/SKU-1", headers=_preflight(origin))
    assert actual.status_code == 200
    assert not any(h.startswith("access-control-") for h in actual.headers)
    assert actual.headers["vary"] == "Accept, Origin"
    assert preflight.status_code == 403
    assert preflight.headers["content-type"] == "application/problem+json"
    assert "may not call" in preflight.json()["detail"]
    assert not any(h.startswith("access-control-") for h in preflight.headers)


async def test_subdomains_of_a_wildcard_are_allowed() -> None:
    async with _client(STOREFRONT_RULE) as client:
        for origin in ("https://eu.shops.example.net", "https://a.b.shops.example.net"):
            answer = await client.options("/v1/prices/SKU-1", headers=_preflight(origin))
            assert answer.headers["access-control-allow-origin"] == origin


async def test_a_method_or_header_outside_the_rule_is_refused() -> None:
    async with _client(STOREFRONT_RULE) as client:
        delete = await client.options("/v1/inventory/SKU-1", headers=_preflight(SHOP, "DELETE"))
        header = await client.options("/v1/inventory/SKU-1",
                                      headers=_preflight(SHOP, "GET", "x-api-key, x-evil"))
    assert delete.status_code == header.status_code == 403
    assert "x-evil" in header.json()["detail"]
    assert "access-control-allow-origin" not in delete.headers


async def test_paths_no_rule_covers_pass_through_untouched() -> None:
    async with _client(STOREFRONT_RULE) as client:
        preflight = await client.options("/v1/shipping/labels", headers=_preflight(SHOP))
        actual = await client.get("/admin/carriers", headers={"Origin": SHOP, "X-API-Key": "a"})
    assert preflight.status_code == 401  # the app's own answer: no CORS here
    assert actual.headers["vary"] == "Accept"
    assert "access-control-allow-origin" not in actual.headers


async def test_an_options_request_that_is_no_preflight_reaches_the_app() -> None:
    async with _client(STOREFRONT_RULE) as client:
        answer = await client.options("/v1/inventory/SKU-1", headers={"Origin": SHOP})
    assert answer.status_code == 401


async def test_a_client_restricted_rule_serves_only_that_clients_answers() -> None:
    rule = STOREFRONT_RULE.model_copy(update={"clients": ["acme"]})
    async with _client(rule) as client:
        preflight = await client.options("/v1/inventory/SKU-1", headers=_preflight(SHOP))
        acme = await client.get("/v1/inventory/SKU-1",
                                headers={"Origin": SHOP, "X-API-Key": "acme"})
        other = await client.get("/v1/inventory/SKU-1",
                                 headers={"Origin": SHOP, "X-API-Key": "bob"})
    assert preflight.status_code == 204  # the client is not known before the real request
    assert acme.headers["access-control-allow-origin"] == SHOP
    assert "access-control-allow-origin" not in other.headers


async def test_per_client_rules_on_one_path() -> None:
    acme = CorsRule(path_prefixes=["/"], origins=["https://acme.test"], clients=["acme"])
    bob = CorsRule(path_prefixes=["/"], origins=["https://bob.test"], clients=["bob"])
    async with _client(acme, bob) as client:
        own = await client.get("/x", headers={"Origin": "https://bob.test", "X-API-Key": "bob"})
        foreign = await client.get("/x", headers={"Origin": "https://acme.test",
                                                  "X-API-Key": "bob"})
    assert own.headers["access-control-allow-origin"] == "https://bob.test"
    assert "access-control-allow-origin" not in foreign.headers


async def test_credentials_echo_the_origin() -> None:
    rule = CorsRule(path_prefixes=["/"], origins=[SHOP], allow_credentials=True)
    async with _client(rule) as client:
        preflight = await client.options("/x", headers=_preflight(SHOP))
        actual = await client.get("/x", headers={"Origin": SHOP, "X-API-Key": "a"})
    for answer in (preflight, actual):
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert answer.headers["access-control-allow-credentials"] == "true"


async def test_a_public_wildcard_without_credentials_answers_star() -> None:
    rule = CorsRule(path_prefixes=["/openapi"], origins=["*"], methods=["GET"], headers=[])
    async with _client(rule) as client:
        answer = await client.get("/openapi/v1.json", headers={"Origin": "https://a.test",
                                                               "X-API-Key": "a"})
        preflight = await client.options("/openapi/v1.json",
                                         headers=_preflight("https://a.test", headers=""))
    assert answer.headers["access-control-allow-origin"] == "*"
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_configured_origins_are_normalized() -> None:
    rule = CorsRule(path_prefixes=["/"], origins=["HTTPS://Shop.Example.COM:443",
                                                  "http://localhost:3000"])
    assert rule.origins == [SHOP, "http://localhost:3000"]


@pytest.mark.parametrize(("origins", "credentials", "message"), [
    (["*"], True, "cannot be combined with a wildcard"),
    (["https://*.example.com"], True, "cannot be combined with a wildcard"),
    (["null"], False, "null origin"),
    (["https://shop.example.com/"], False, "without a path"),
    (["shop.example.com"], False, "must start with http"),
    (["ftp://shop.example.com"], False, "must start with http"),
    (["https://shop.*.com"], False, "no valid host"),
    (["https://shop.example.com:99999"], False, "invalid port"),
])
def test_bad_rules_are_refused_at_load(origins: list[str], credentials: bool,
                                       message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CorsRule(path_prefixes=["/"], origins=origins, allow_credentials=credentials)


def test_wildcard_headers_and_methods_are_refused() -> None:
    with pytest.raises(ValidationError, match="wildcards are not allowed"):
        CorsRule(path_prefixes=["/"], origins=[SHOP], headers=["*"])
    with pytest.raises(ValidationError, match="not a method name"):
        CorsRule(path_prefixes=["/"], origins=[SHOP], methods=["*"])


async def test_websocket_and_lifespan_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Any:
        return {}

    async def drop(message: Any) -> None:
        return None

    middleware = CorsMiddleware(app, CorsConfig(rules=[STOREFRONT_RULE]))
    await middleware({"type": "lifespan"}, nothing, drop)
    await middleware({"type": "websocket", "path": "/v1/inventory", "headers": []}, nothing, drop)
    assert seen == ["lifespan", "websocket"]


GROUPS = {"inventory": ["/v1/inventory/{sku}", "/v1/inventory/query"],
          "labels": ["/v1/shipping/labels"]}


async def test_a_rule_covers_the_paths_of_the_route_groups_it_names() -> None:
    rule = CorsRule(route_groups=["inventory"], origins=[SHOP])
    app = CorsMiddleware(_guarded, CorsConfig(rules=[rule]), group_paths=GROUPS)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
        sku = await client.options("/v1/inventory/SKU-1", headers=_preflight(SHOP))
        query = await client.options("/v1/inventory/query", headers=_preflight(SHOP, "POST"))
        deeper = await client.options("/v1/inventory/SKU-1/x", headers=_preflight(SHOP))
        labels = await client.options("/v1/shipping/labels", headers=_preflight(SHOP, "POST"))
    assert sku.status_code == query.status_code == 204
    assert deeper.status_code == labels.status_code == 401  # not covered: the app answers


def test_a_rule_names_groups_or_prefixes() -> None:
    with pytest.raises(ValidationError, match="route_groups or path_prefixes"):
        CorsRule(origins=[SHOP])
    with pytest.raises(ValueError, match="unknown route group"):
        CorsMiddleware(_guarded, CorsConfig(rules=[CorsRule(route_groups=["invntory"],
                                                            origins=[SHOP])]),
                       group_paths=GROUPS)
