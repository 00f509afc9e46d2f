"""The two public auth endpoints: ``POST /oauth/token`` (speaks OAuth JSON errors, not
problem+json) and ``GET /.well-known/jwks.json``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import InsecureTransportError, InvalidRequestError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from policies.auth.attempts import client_address
from policies.auth.keys import KeyRing
from policies.auth.oauth import FormRequest, TokenServer

Endpoint = Callable[[Request], Awaitable[Response]]

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 8 * 1024
MAX_FORM_FIELDS = 16
JWKS_CACHE_CONTROL = "public, max-age=300"


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded body, read asynchronously and bounded; InvalidRequestError otherwise."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise InvalidRequestError(f"the body must be {FORM_MEDIA_TYPE}")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise InvalidRequestError("the request body is too large")
    except ClientDisconnect:
        raise InvalidRequestError("the request body was cut short") from None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError("the form body cannot be parsed") from None
    form = dict(pairs)
    # RFC 6749 §3.2: request parameters MUST NOT be included more than once
    if len(form) != len(pairs):
        raise InvalidRequestError("a form parameter is repeated")
    return form


def token_endpoint(server: TokenServer) -> Endpoint:
    """The Starlette endpoint for ``POST /oauth/token``."""

    async def token(request: Request) -> Response:
        try:
            form = await read_form(request)
            url = str(request.url)
            if not is_secure_transport(url):
                if server.require_https:
                    raise InsecureTransportError()
                # authlib checks the URL's scheme only; the operator vouched for the transport
                url = str(request.url.replace(scheme="https"))
            if len(request.headers.getlist("authorization")) > 1:
                raise InvalidRequestError("send one Authorization header, not several")
            if "authorization" in request.headers and "client_secret" in form:
                raise InvalidRequestError("use one client authentication method, not two")
        except (InvalidRequestError, InsecureTransportError) as error:
            return server.error_response(error)
        return await server.token_response(FormRequest("POST", url, request.headers, form),
                                           client_address(request.scope))

    return token


def jwks_endpoint(keyring: KeyRing) -> Endpoint:
    """The Starlette endpoint for ``GET /.well-known/jwks.json``: public keys only."""

    async def jwks(request: Request) -> Response:
        return JSONResponse(keyring.jwks(), headers={"Cache-Control": JWKS_CACHE_CONTROL})

    return jwks


def auth_routes(server: TokenServer, keyring: KeyRing) -> list[Route]:
    """Both endpoints at their conventional paths (which are public by default)."""
    return [
        Route("/oauth/token", token_endpoint(server), methods=["POST"]),
        Route("/.well-known/jwks.json", jwks_endpoint(keyring), methods=["GET"]),
    ]
