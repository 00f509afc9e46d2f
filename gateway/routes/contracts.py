"""The contract routes (public, unversioned): OpenAPI documents and the docs page.

The documents are generated from the route table when first asked for, so what
is served is what the running code validates against; the docs page and its
assets ship inside the package (nothing is fetched from a CDN).
"""

from __future__ import annotations

import hashlib
import html
from functools import cache
from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from gateway.contract import Operation
from gateway.contracts.generator import CONTRACTS_TAG, documents, package_version, render
from policies.problems import NotFound

ASSET_TYPES = {
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _static(name: str) -> str:
    return files("gateway.contracts").joinpath("static", name).read_text(encoding="utf-8")


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


@cache
def _documents() -> dict[str, tuple[str, str]]:
    # imported here: the route table imports this module
    from gateway.routes import operations

    rendered = {name: render(doc) for name, doc in documents(operations()).items()}
    return {name: (text, _etag(text)) for name, text in rendered.items()}


@cache
def _docs_page() -> tuple[str, str]:
    page = (_static("docs.html")
            .replace("__DOCUMENTS__", html.escape(" ".join(_documents())))
            .replace("__ASSET_VERSION__", html.escape(package_version())))
    return page, _etag(page)


def _respond(request: Request, text: str, etag: str, media_type: str,
             extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
               **(extra or {})}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(text, media_type=media_type, headers=headers)


async def openapi_document(request: Request) -> Response:
    name = request.path_params["version"]
    found = _documents().get(name)
    if found is None:
        raise NotFound(f"no OpenAPI document {name!r}; available: {', '.join(_documents())}")
    return _respond(request, *found, "application/json")


async def docs_page(request: Request) -> Response:
    return _respond(request, *_docs_page(), "text/html; charset=utf-8",
                    {"Content-Security-Policy": DOCS_CSP})


async def docs_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSET_TYPES:
        raise NotFound(f"no docs asset {name!r}")
    text = _static(name)
    return _respond(request, text, _etag(text), ASSET_TYPES[name])


CONTRACTS = [
    Operation("getOpenApiDocument", "GET", "/openapi/{version}.json", openapi_document,
              "OpenAPI 3.1 document of one API version (v1, v2 …) or of the platform API",
              CONTRACTS_TAG),
    Operation("getDocs", "GET", "/docs", docs_page, "Human-readable API reference",
              CONTRACTS_TAG),
    Operation("getDocsAsset", "GET", "/docs/assets/{name}", docs_asset,
              "Script and style sheet of the docs page", CONTRACTS_TAG),
]
