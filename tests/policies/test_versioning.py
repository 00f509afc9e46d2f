from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from policies.versioning import (
    VersionConfig,
    VersioningConfig,
    VersioningMiddleware,
    deprecation_value,
    http_date,
)

DEPRECATED_AT = datetime(2025, 1, 1, tzinfo=UTC)
SUNSET = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
BEFORE_SUNSET = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FakePrincipal:
    client_id: str
    versions: frozenset[str]


class InjectPrincipal:
    """Stands in for auth: ``x-versions: v1,v2`` becomes a principal restricted to those."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = dict(scope["headers"]).get(b"x-versions")
            if raw is not None:
                versions = frozenset(v for v in raw.decode().split(",") if v)
                scope.setdefault("state", {})["principal"] = FakePrincipal("c1", versions)
        await self.app(scope, receive, send)


def config(**v1: object) -> VersioningConfig:
    first = {
        "name": "v1", "status": "deprecated", "deprecated_at": DEPRECATED_AT,
        "sunset": SUNSET, "successor": "/v2", "docs": "https://docs.example/migrate-v2",
    }
    first.update(v1)
    return VersioningConfig.model_validate(
        {"versions": [first, {"name": "v2", "status": "current"}]}
    )


async def items(request: Request) -> Response:
    version = request.state.api_version
    return JSONResponse({"version": version}, headers={"Link": '</v2/items?page=2>; rel="next"'})


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build(cfg: VersioningConfig, now: datetime) -> ASGIApp:
    app = Starlette(routes=[
        Route("/v1/items", items), Route("/v2/items", items), Route("/healthz", healthz),
    ])
    return InjectPrincipal(VersioningMiddleware(app, cfg, clock=lambda: now))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = build(config(), BEFORE_SUNSET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        yield c


async def test_deprecated_version_carries_deprecation_sunset_and_links(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/items")
    assert response.status_code == 200
    assert response.json() == {"version": "v1"}
    assert response.headers["deprecation"] == "@1735689600"
    assert response.headers["sunset"] == "Wed, 01 Jul 2026 12:00:00 GMT"
    links = response.headers.get_list("link")
    assert '</v2>; rel="successor-version"' in links
    assert '<https://docs.example/migrate-v2>; rel="deprecation"; type="text/html"' in links
    assert '</v2/items?page=2>; rel="next"' in links  # the app's own Link survives


async def test_current_version_has_no_lifecycle_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/items")
    assert response.status_code == 200
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers
    assert response.headers.get_list("link") == ['</v2/items?page=2>; rel="next"']


async def test_unknown_version_is_a_404_problem_listing_known_versions(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v9/items")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["known_versions"] == ["v1", "v2"]
    assert "v1, v2" in body["detail"] and "'v9'" in body["detail"]
    assert body["instance"] == "/v9/items"


async def test_non_versioned_paths_pass_through(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert "deprecation" not in response.headers


async def test_principal_restricted_to_other_versions_gets_403(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/items", headers={"x-versions": "v2"})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["allowed_versions"] == ["v2"]


async def test_principal_allowed_the_version_and_unrestricted_principal_pass(
    client: httpx.AsyncClient,
) -> None:
    allowed = await client.get("/v2/items", headers={"x-versions": "v2"})
    unrestricted = await client.get("/v1/items", headers={"x-versions": ""})
    assert allowed.status_code == 200
    assert unrestricted.status_code == 200


@pytest.mark.parametrize("now", [SUNSET, SUNSET + timedelta(days=30)])
async def test_version_past_its_sunset_is_gone_with_successor(now: datetime) -> None:
    app = build(config(), now)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        response = await c.get("/v1/items")
        still_there = await c.get("/v2/items")
    assert response.status_code == 410
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["successor"] == "/v2"
    assert "/v2" in body["detail"]
    assert '</v2>; rel="successor-version"' in response.headers["link"]
    assert response.headers["sunset"] == "Wed, 01 Jul 2026 12:00:00 GMT"
    assert still_there.status_code == 200


async def test_one_second_before_sunset_is_still_served() -> None:
    app = build(config(), SUNSET - timedelta(seconds=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        response = await c.get("/v1/items")
    assert response.status_code == 200


async def test_deprecated_without_sunset_or_docs_sends_only_what_is_configured() -> None:
    app = build(config(sunset=None, docs=None), BEFORE_SUNSET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://gw") as c:
        response = await c.get("/v1/items")
    assert response.headers["deprecation"] == deprecation_value(DEPRECATED_AT)
    assert "sunset" not in response.headers
    assert '</v2>; rel="successor-version"' in response.headers.get_list("link")
    assert not any("deprecation" in link for link in response.headers.get_list("link"))


async def test_root_path_is_stripped_before_reading_the_version() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["api_version"])
        await Response("ok")(scope, receive, send)

    wrapped = VersioningMiddleware(app, config(), clock=lambda: BEFORE_SUNSET)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped, root_path="/api"),
                                 base_url="http://gw") as c:
        response = await c.get("/api/v1/items")
    assert response.status_code == 200
    assert seen == ["v1"]


def test_header_formats() -> None:
    assert deprecation_value(datetime(2023, 6, 30, 23, 59, 59, tzinfo=UTC)) == "@1688169599"
    offset = datetime(2026, 7, 1, 14, 0, tzinfo=UTC).astimezone()
    assert http_date(offset) == "Wed, 01 Jul 2026 14:00:00 GMT"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deprecated_at": None}, "has no deprecated_at"),
        ({"status": "current"}, "need status"),
        ({"sunset": DEPRECATED_AT - timedelta(days=1)}, "sunset before its deprecation"),
        ({"successor": "/v7"}, "unknown successor 'v7'"),
        ({"deprecated_at": datetime(2025, 1, 1)}, "timezone"),
        ({"colour": "red"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_configs_fail_with_the_reason(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(**changes)


def test_duplicate_versions_are_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate versions: v1"):
        VersioningConfig(versions=[VersionConfig(name="v1"), VersionConfig(name="v1")])


def test_public_surface_is_pinned() -> None:
    import policies.versioning as versioning

    assert sorted(versioning.__all__) == [
        "DEFAULT_VERSION_PATTERN", "VersionConfig", "VersionGate", "VersionedPrincipal",
        "VersioningConfig",
        "VersioningMiddleware", "deprecation_value", "http_date",
    ]
