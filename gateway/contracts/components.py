"""The fixed parts of every document: descriptions, scopes, security schemes, shared headers
and parameters, and the RFC 9457 problem schema."""

from __future__ import annotations

from typing import Any

from policies.auth.types import ALL_SCOPES
from policies.problems import ALL_PROBLEMS, PROBLEM_BASE, Problem
from policies.request_id import HEADER as REQUEST_ID_HEADER

Json = dict[str, Any]

TOKEN_URL = "/oauth/token"
API_KEY_HEADER = "X-API-Key"
SCHEMA_REF = "#/components/schemas/{model}"
PROBLEM_SCHEMA = "Problem"
PROBLEM_ERROR_SCHEMA = "ProblemError"

SCOPE_DESCRIPTIONS: dict[str, str] = {
    "inventory:read": "Read availability per SKU and warehouse",
    "prices:read": "Read customer prices",
    "shipping:rate": "Rate-shop shipments across carriers",
    "labels:write": "Buy, reprint and void shipping labels",
    "orders:read": "Read the caller's own sales orders",
    "orders:write": "Place and cancel sales orders",
    "tracking:read": "Track parcels",
    "admin": "Operate the gateway (metrics, cache purge, breaker status)",
}

PROBLEM_NOTES: dict[int, str] = {
    400: "The request is malformed: the body is not valid JSON, a header is unusable, or a "
         "path segment or the query string is not percent-encoded UTF-8 or holds control "
         "characters.",
    401: "Credentials (or a webhook's signature) are missing, invalid or expired.",
    403: "The credentials lack the operation's scope, or the client may not use this API "
         "version.",
    404: "The resource does not exist, or no route matches the path.",
    409: "The request conflicts with the current state of the resource.",
    410: "This API version is past its sunset date; move to the successor version.",
    413: "The request body is larger than the gateway accepts.",
    415: "The request body is not JSON (`Content-Type: application/json`).",
    422: "A parameter or body field failed validation (`errors` lists each one with a JSON "
         "pointer into the body or the parameter name), or a well-formed request cannot be "
         "carried out.",
    429: "The client's rate limit is used up; retry after `Retry-After` seconds.",
    500: "The gateway failed to handle the request; quote the `X-Request-ID` when reporting "
         "it.",
    502: "The ERP (or carrier) answered with something the gateway cannot use.",
    503: "A dependency (ERP, carrier) is unavailable; retry after `Retry-After` seconds when "
         "present.",
    504: "A dependency (ERP, carrier) did not answer in time.",
}

# the first class of a status is its canonical problem type (422: validation-failed)
PROBLEM_TYPES: dict[int, type[Problem]] = {}
for _cls in ALL_PROBLEMS:
    PROBLEM_TYPES.setdefault(_cls.status, _cls)

DESCRIPTION = """\
Generated from the gateway's route table and pydantic models: this document and the
validation of every request come from the same source.

**Authentication.** Operations that need credentials accept either an OAuth 2.0 access token
from the client-credentials grant (`Authorization: Bearer …`, token from `/oauth/token`) with
the operation's scope, or an API key in `X-API-Key`. Public operations need neither.

**Errors.** Every error is RFC 9457 `application/problem+json`; validation errors list each
failing field in `errors` (`pointer` for body fields, `parameter` and `in` for parameters).

**Headers.** `X-Request-ID` is accepted when well formed (else replaced) and echoed on every
response. Authenticated responses carry `RateLimit-Policy` and `RateLimit`; 429 responses
carry `Retry-After`. Cached operations answer with `Cache-Status` (RFC 9211) and `Age`.
While an API version is deprecated its responses carry `Deprecation` (RFC 9745), `Sunset`
(RFC 8594) and a `Link` to the successor version; after the sunset it answers 410.
"""

PLATFORM_DESCRIPTION = """\
Unversioned operations of the gateway: health, OAuth token issuance, signing keys, webhooks
and administration. They do not follow the deprecation cycle of the API versions.
"""

HEADERS: dict[str, Json] = {
    "RequestId": {
        "description": "Correlation id: the caller's well-formed `X-Request-ID`, else one made "
                       "by the gateway. Forwarded upstream; quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:\-]{1,128}$"},
    },
    "RateLimitPolicy": {
        "description": "The client's rate-limit quota policies (IETF httpapi RateLimit "
                       "headers draft), e.g. `\"default\";q=100;w=60`. Sent while rate limits "
                       "are enforced.",
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": "What is left of the quota: remaining requests `r` and seconds until "
                       "the window resets `t`, e.g. `\"default\";r=42;t=17`.",
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RetryAfterRateLimited": {
        "description": "Seconds until the rate limit lets the client through again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "CacheStatus": {
        "description": "RFC 9211 cache status of the gateway's cache tiers, e.g. "
                       "`erp-gateway; hit; ttl=12` or `erp-gateway; fwd=uri-miss; stored; ttl=30`.",
        "schema": {"type": "string"},
    },
    "Age": {
        "description": "Seconds since the answer was fetched from the ERP.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Deprecation": {
        "description": "Sent only while this API version is deprecated: when it was deprecated, "
                       "as an RFC 9745 date (`@` and a Unix timestamp).",
        "schema": {"type": "string", "pattern": r"^@-?[0-9]+$"},
    },
    "Sunset": {
        "description": "Sent only while this API version is deprecated: the HTTP-date after "
                       "which it answers 410 Gone (RFC 8594).",
        "schema": {"type": "string"},
    },
    "SuccessorLink": {
        "description": "Sent only while this API version is deprecated: "
                       "`<…>; rel=\"successor-version\"` pointing at the version to move to, "
                       "and `rel=\"deprecation\"` / `rel=\"sunset\"` policy links when "
                       "configured.",
        "schema": {"type": "string"},
    },
    "WwwAuthenticate": {
        "description": "The authentication challenge (RFC 9110).",
        "required": True,
        "schema": {"type": "string"},
    },
}

PARAMETERS: dict[str, Json] = {
    "RequestId": {
        "name": REQUEST_ID_HEADER,
        "in": "header",
        "required": False,
        "description": "Correlation id to use for this request: 1-128 characters of "
                       "`A-Za-z0-9._:-`. Any other value is not rejected but replaced by a "
                       "generated id (see the `X-Request-ID` response header).",
        "schema": {"type": "string"},
    },
}


def problem_schemas() -> dict[str, Json]:
    return {
        PROBLEM_SCHEMA: {
            "title": "Problem",
            "description": "RFC 9457 problem details; extension members may follow.",
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string", "format": "uri",
                         "description": f"Problem type URI under `{PROBLEM_BASE}`",
                         "examples": [PROBLEM_BASE + "validation-failed"]},
                "title": {"type": "string", "description": "Short summary of the type"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string", "description": "What went wrong and how to fix it"},
                "instance": {"type": "string", "description": "The request path"},
                "errors": {"type": "array",
                           "items": {"$ref": SCHEMA_REF.format(model=PROBLEM_ERROR_SCHEMA)},
                           "description": "Each failing field (422 only)"},
            },
            "additionalProperties": True,
        },
        PROBLEM_ERROR_SCHEMA: {
            "title": "ProblemError",
            "description": "One failing field: `pointer` for the body, `parameter` and `in` "
                           "for path, query and header values.",
            "type": "object",
            "required": ["detail"],
            "properties": {
                "pointer": {"type": "string", "description": "JSON pointer into the body",
                            "examples": ["#/items/0/sku"]},
                "parameter": {"type": "string", "description": "Parameter name"},
                "in": {"type": "string", "enum": ["path", "query", "header"]},
                "detail": {"type": "string"},
            },
        },
    }


def security_schemes() -> Json:
    missing = set(ALL_SCOPES) - set(SCOPE_DESCRIPTIONS)
    if missing:
        raise ValueError(f"scopes without a description: {sorted(missing)}")
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Client-credentials grant; ask for the scopes the client needs.",
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL,
                                            "scopes": dict(SCOPE_DESCRIPTIONS)}},
        },
        "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER,
                   "description": "A client's API key; grants the scopes configured for it."},
    }
