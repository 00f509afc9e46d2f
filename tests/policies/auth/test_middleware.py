from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from policies.auth import AuthMiddleware, Principal, require_scope
from policies.auth.authenticator import Authenticator
from policies.problems import PROBLEM_JSON, Forbidden, Unauthorized


def _assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_api_key_authenticates_and_route_sees_principal(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/inventory", headers={"X-API-Key": "demo-storefront-key"})
    assert response.status_code == 200
    assert response.json() == {"client_id": "demo-storefront", "method": "api_key",
                               "scopes": ["inventory:read", "orders:read", "orders:write",
                                          "prices:read"]}


async def test_wrong_api_key_of_the_right_length_is_refused(client: httpx.AsyncClient) -> None:
    wrong = "demo-storefront-kez"
    assert len(wrong) == len("demo-storefront-key")
    response = await client.get("/v1/inventory", headers={"X-API-Key": wrong})
    body = _assert_problem(response, 401)
    assert body["detail"] == "the API key is not valid"
    assert wrong not in response.text
    assert response.headers["www-authenticate"] == 'Bearer realm="erp-gateway"'


async def test_missing_credentials_get_401_problem_with_challenge(
        client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/inventory")
    body = _assert_problem(response, 401)
    assert body["type"].endswith("/unauthorized")
    assert "credentials are missing" in body["detail"]
    # RFC 6750 §3.1: no error code when no credentials were sent
    assert response.headers["www-authenticate"] == 'Bearer realm="erp-gateway"'


async def test_two_credentials_at_once_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/inventory", headers={
        "X-API-Key": "demo-storefront-key", "Authorization": "Bearer x.y.z"})
    body = _assert_problem(response, 401)
    assert "not both" in body["detail"]


async def test_non_bearer_authorization_scheme_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/inventory", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    body = _assert_problem(response, 401)
    assert body["detail"] == "the Authorization scheme must be Bearer"


async def test_garbage_bearer_token_is_invalid_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/inventory", headers={"Authorization": "Bearer not-a-jwt"})
    body = _assert_problem(response, 401)
    assert body["detail"] == "bearer token rejected: token is not a well-formed JWT"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "not-a-jwt" not in response.text


async def test_insufficient_scope_is_403_problem_naming_the_scope(
        client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/labels", headers={"X-API-Key": "demo-storefront-key"})
    body = _assert_problem(response, 403)
    assert body["detail"] == "missing scope 'labels:write'"
    assert body["required_scope"] == "labels:write"


async def test_scope_held_passes(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/labels", headers={"X-API-Key": "demo-warehouse-key"})
    assert response.status_code == 200
    assert response.json() == {"client_id": "demo-warehouse"}


# "/healthz/" reaches the router, which redirects to "/healthz" (not a 401 from the middleware)
@pytest.mark.parametrize(("path", "status"),
                         [("/healthz", 200), ("/healthz/", 307), ("/.well-known/jwks.json", 200)])
async def test_public_paths_need_no_credentials(client: httpx.AsyncClient, path: str,
                                                status: int) -> None:
    response = await client.get(path)
    assert response.status_code == status


async def test_public_path_matches_by_segment_not_by_string_prefix(
        client: httpx.AsyncClient) -> None:
    response = await client.get("/healthzfoo")
    assert response.status_code == 401


def test_require_scope_without_principal_is_unauthorized() -> None:
    with pytest.raises(Unauthorized):
        require_scope({"type": "http", "state": {}}, "inventory:read")
    with pytest.raises(Unauthorized):
        require_scope({"type": "http"}, "inventory:read")


def test_require_scope_for_a_bearer_caller_adds_insufficient_scope_challenge() -> None:
    principal = Principal("c", frozenset({"prices:read"}), "default", frozenset(), "jwt")
    scope = {"type": "http", "state": {"principal": principal}}
    assert require_scope(scope, "prices:read") is principal
    with pytest.raises(Forbidden) as caught:
        require_scope(scope, "admin")
    assert 'error="insufficient_scope"' in caught.value.headers["WWW-Authenticate"]
    assert 'scope="admin"' in caught.value.headers["WWW-Authenticate"]


async def test_middleware_creates_state_and_leaves_lifespan_alone(
        demo_components: Any) -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(dict(scope))

    middleware = AuthMiddleware(app, demo_components.authenticator, ["/healthz"])
    authenticator: Authenticator = demo_components.authenticator
    assert middleware.authenticator is authenticator

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing should be sent")

    await middleware({"type": "lifespan"}, receive, send)
    http_scope = {"type": "http", "path": "/v1/x", "headers": [(b"x-api-key", b"demo-admin-key")]}
    await middleware(http_scope, receive, send)
    assert seen[0] == {"type": "lifespan"}
    principal = seen[1]["state"]["principal"]
    assert principal.client_id == "demo-admin"
    assert "admin" in principal.scopes


async def test_unauthenticated_websocket_is_closed_with_policy_violation(
        demo_components: Any) -> None:
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("must not reach the app")

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = AuthMiddleware(app, demo_components.authenticator, [])
    await middleware({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
