"""The contract routes (public, unversioned): OpenAPI documents and the docs page.

The documents are generated from the operation table when the app is assembled, so what
is served is what the running code validates against; the docs page and its
assets ship inside the package (nothing is fetched from a CDN).
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from gateway.contracts.generator import documents, package_version, render
from policies.problems import NotFound

if TYPE_CHECKING:  # the table names this module's handlers
    from gateway.operations import Operation

ASSET_TYPES = {
    "docs.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "tryit.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@cache
def _static(name: str) -> str:
    return files("gateway.contracts").joinpath("static", name).read_text(encoding="utf-8")


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


class Contracts:
    """The rendered documents of one operation table, and the docs page listing them."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        rendered = {name: render(doc) for name, doc in documents(operations).items()}
        self.documents = {name: (text, _etag(text)) for name, text in rendered.items()}
        page = (_static("docs.html")
                .replace("__DOCUMENTS__", html.escape(" ".join(self.documents)))
                .replace("__ASSET_VERSION__", html.escape(package_version())))
        self.page = (page, _etag(page))


class DocumentPath(BaseModel):
    version: Annotated[str, Field(pattern=r"^[a-z0-9]{1,16}$",
                                  description="v1, v2 … or platform")]


class AssetPath(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9.]{1,32}$")]


def _respond(request: Request, text: str, etag: str, media_type: str,
             extra: dict[str, str] | None = None) -> Response:
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
               **(extra or {})}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(text, media_type=media_type, headers=headers)


async def openapi_document(path: DocumentPath, request: Request,
                           contracts: Contracts) -> Response:
    found = contracts.documents.get(path.version)
    if found is None:
        raise NotFound(f"no OpenAPI document {path.version!r}; available: "
                       f"{', '.join(contracts.documents)}")
    return _respond(request, *found, "application/json")


async def docs_page(request: Request, contracts: Contracts) -> Response:
    return _respond(request, *contracts.page, "text/html; charset=utf-8",
                    {"Content-Security-Policy": DOCS_CSP})


async def docs_asset(path: AssetPath, request: Request) -> Response:
    if path.name not in ASSET_TYPES:
        raise NotFound(f"no docs asset {path.name!r}")
    text = _static(path.name)
    return _respond(request, text, _etag(text), ASSET_TYPES[path.name])
