from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import Key
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from policies.auth import (
    AuthComponents,
    AuthConfig,
    AuthMiddleware,
    build_auth,
    demo_auth_config,
    require_scope,
)
from policies.problems import Problem

BASE_URL = "https://gateway.test"


class FakeClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float | None = None) -> None:
        self.now = float(int(start if start is not None else time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: dict[str, Any]) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def sign(claims: dict[str, Any], key: Key, *, alg: str, kid: str | None,
         typ: str | None = "at+jwt") -> str:
    header: dict[str, Any] = {"alg": alg}
    if kid is not None:
        header["kid"] = kid
    if typ is not None:
        header["typ"] = typ
    return jwt.encode(header, claims, key, algorithms=[alg], default_type=None)


def own_claims(config: AuthConfig, now: float, *, client_id: str = "demo-storefront",
               scope: str = "inventory:read prices:read", lifetime: int = 900,
               **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": config.token.issuer, "aud": config.token.audience, "sub": client_id,
        "client_id": client_id, "scope": scope, "iat": int(now), "nbf": int(now),
        "exp": int(now) + lifetime, "jti": f"jti-{now}-{client_id}",
    }
    claims.update(overrides)
    return claims


async def _inventory(request: Request) -> Response:
    principal = require_scope(request, "inventory:read")
    return JSONResponse({"client_id": principal.client_id, "method": principal.method,
                         "scopes": sorted(principal.scopes)})


async def _labels(request: Request) -> Response:
    principal = require_scope(request, "labels:write")
    return JSONResponse({"client_id": principal.client_id})


async def _healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return exc.response(request.url.path)


def make_app(components: AuthComponents) -> Starlette:
    """A tiny app: the middleware, both auth endpoints and routes that call require_scope."""
    routes = [
        Route("/v1/inventory", _inventory),
        Route("/v1/labels", _labels, methods=["POST"]),
        Route("/healthz", _healthz),
        *components.routes(),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(AuthMiddleware, authenticator=components.authenticator,
                               public_paths=components.config.public_paths)],
        exception_handlers={Problem: _problem},
    )


@pytest.fixture(scope="session")
def demo_config() -> AuthConfig:
    # three scrypt hashes: build once per session, the config is immutable
    return demo_auth_config()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def demo_components(demo_config: AuthConfig,
                          clock: FakeClock) -> AsyncIterator[AuthComponents]:
    components = build_auth(demo_config, clock=clock)
    yield components
    await components.aclose()


@pytest.fixture
async def client(demo_components: AuthComponents) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(demo_components)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url=BASE_URL) as http:
        yield http


async def fetch_token(http: httpx.AsyncClient, client_id: str = "demo-storefront",
                      secret: str | None = None, **form: str) -> httpx.Response:
    """client_secret_basic token request."""
    return await http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                           auth=(client_id, secret or f"{client_id}-secret"))
