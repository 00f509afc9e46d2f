"""The OAuth token endpoint and the JWKS as operations of the table.

The work is ``policies.auth``'s (authlib's client-credentials grant, the key ring); these
handlers hand it the request and document what goes in and out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from policies.auth import AuthComponents


class TokenForm(BaseModel):
    """``application/x-www-form-urlencoded`` fields (RFC 6749 section 4.4.2)."""

    model_config = ConfigDict(extra="forbid")

    grant_type: Literal["client_credentials"]
    scope: Annotated[str | None, Field(description="Space-separated scopes; all of the "
                                       "client's when absent")] = None
    client_id: Annotated[str | None, Field(description="With client_secret_post")] = None
    client_secret: Annotated[str | None, Field(description="With client_secret_post")] = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 section 5.2."""

    error: str
    error_description: str | None = None


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


async def token(request: Request, auth: AuthComponents) -> Response:
    return await auth.token_endpoint(request)


async def jwks(request: Request, auth: AuthComponents) -> Response:
    return await auth.jwks_endpoint(request)
