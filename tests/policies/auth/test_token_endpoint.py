from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from joserfc import jwt

from policies.auth import AuthComponents, AuthConfig, build_auth
from tests.policies.auth.conftest import FakeClock, fetch_token, make_app


def _claims(components: AuthComponents, token: str) -> dict[str, Any]:
    key = components.keyring.signing_key().key
    return jwt.decode(token, key, algorithms=["Ed25519"]).claims


def _assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == error


async def test_client_secret_basic_issues_a_15_minute_jwt_usable_on_routes(
        client: httpx.AsyncClient, demo_components: AuthComponents,
        demo_config: AuthConfig) -> None:
    response = await fetch_token(client)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "inventory:read orders:read orders:write prices:read"
    assert "refresh_token" not in body

    claims = _claims(demo_components, body["access_token"])
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iss"] == demo_config.token.issuer
    assert claims["aud"] == demo_config.token.audience
    assert claims["sub"] == claims["client_id"] == "demo-storefront"
    assert claims["nbf"] == claims["iat"]
    assert isinstance(claims["jti"], str) and claims["jti"]
    header = jwt.decode(body["access_token"], demo_components.keyring.signing_key().key,
                        algorithms=["Ed25519"]).header
    assert header["kid"] == "demo-ephemeral"
    assert header["alg"] == "Ed25519"
    assert header["typ"] == "at+jwt"

    used = await client.get("/v1/inventory",
                            headers={"Authorization": f"Bearer {body['access_token']}"})
    assert used.status_code == 200
    assert used.json()["method"] == "jwt"
    assert used.json()["client_id"] == "demo-storefront"


async def test_client_secret_post_issues_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "demo-warehouse",
        "client_secret": "demo-warehouse-secret"})
    assert response.status_code == 200
    assert response.json()["scope"] == "labels:write shipping:rate tracking:read"
    token = response.json()["access_token"]
    used = await client.post("/v1/labels", headers={"Authorization": f"Bearer {token}"})
    assert used.status_code == 200


async def test_wrong_secret_is_invalid_client(client: httpx.AsyncClient) -> None:
    response = await fetch_token(client, secret="demo-storefront-secreT")
    _assert_oauth_error(response, 401, "invalid_client")
    assert "demo-storefront-secreT" not in response.text


async def test_unknown_client_gets_the_same_answer_as_a_wrong_secret(
        client: httpx.AsyncClient) -> None:
    unknown = await fetch_token(client, client_id="nobody", secret="whatever")
    wrong = await fetch_token(client, secret="wrong")
    _assert_oauth_error(unknown, 401, "invalid_client")
    assert unknown.json() == wrong.json()


async def test_api_key_is_not_a_client_secret(client: httpx.AsyncClient) -> None:
    response = await fetch_token(client, secret="demo-storefront-key")
    _assert_oauth_error(response, 401, "invalid_client")


async def test_scope_escalation_is_invalid_scope(client: httpx.AsyncClient) -> None:
    response = await fetch_token(client, scope="inventory:read labels:write")
    _assert_oauth_error(response, 400, "invalid_scope")
    assert "labels:write" in response.json()["error_description"]


async def test_unknown_scope_is_invalid_scope(client: httpx.AsyncClient) -> None:
    response = await fetch_token(client, scope="inventory:write")
    _assert_oauth_error(response, 400, "invalid_scope")


async def test_requested_subset_scope_is_granted_and_limits_the_token(
        client: httpx.AsyncClient) -> None:
    response = await fetch_token(client, client_id="demo-admin", scope="prices:read")
    assert response.status_code == 200
    assert response.json()["scope"] == "prices:read"
    token = response.json()["access_token"]
    denied = await client.get("/v1/inventory", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403


async def test_other_grant_types_are_unsupported(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", data={"grant_type": "password"},
                                 auth=("demo-storefront", "demo-storefront-secret"))
    _assert_oauth_error(response, 400, "unsupported_grant_type")


async def test_json_body_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", json={"grant_type": "client_credentials"},
                                 auth=("demo-storefront", "demo-storefront-secret"))
    _assert_oauth_error(response, 400, "invalid_request")


async def test_repeated_parameter_is_invalid_request(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/oauth/token", content=b"grant_type=client_credentials&scope=a&scope=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=("demo-storefront", "demo-storefront-secret"))
    _assert_oauth_error(response, 400, "invalid_request")


async def test_two_client_authentication_methods_are_invalid_request(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "demo-storefront",
        "client_secret": "demo-storefront-secret"},
        auth=("demo-storefront", "demo-storefront-secret"))
    _assert_oauth_error(response, 400, "invalid_request")


async def test_plain_http_is_refused_when_https_is_required(demo_config: AuthConfig) -> None:
    strict = demo_config.model_copy(
        update={"token": demo_config.token.model_copy(update={"require_https": True})})
    components = build_auth(strict, clock=FakeClock())
    transport = httpx.ASGITransport(app=make_app(components))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await fetch_token(http)
    _assert_oauth_error(response, 400, "insecure_transport")


async def test_plain_http_is_accepted_when_the_operator_allows_it(
        demo_components: AuthComponents) -> None:
    assert demo_components.config.token.require_https is False
    transport = httpx.ASGITransport(app=make_app(demo_components))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await fetch_token(http)
    assert response.status_code == 200



async def test_no_active_signing_key_is_temporarily_unavailable(
        demo_config: AuthConfig, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    key = demo_config.signing_keys[0].model_copy(
        update={"not_after": datetime.fromtimestamp(clock.now + 10, UTC)})
    components = build_auth(demo_config.model_copy(update={"signing_keys": [key]}), clock=clock)
    clock.advance(11)
    transport = httpx.ASGITransport(app=make_app(components))
    async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
        response = await fetch_token(http)
    _assert_oauth_error(response, 503, "temporarily_unavailable")
    assert "no active signing key" in caplog.text
