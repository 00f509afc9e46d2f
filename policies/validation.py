"""Request validation with the same pydantic models that generate the contract.

Body rules: too large → 413, not JSON → 415, malformed JSON → 400, schema
errors → 422 listing each error with a JSON pointer (``#/items/0/sku``) or the
parameter name for path and query values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from policies.problems import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

M = TypeVar("M", bound=BaseModel)

DEFAULT_MAX_BODY = 256 * 1024


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "#/" + "/".join(parts) if parts else "#"


def _message(error: Mapping[str, Any]) -> str:
    return str(error["msg"])


def body_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [{"pointer": _pointer(e["loc"]), "detail": _message(e)}
            for e in exc.errors(include_url=False)]


def param_errors(exc: ValidationError, where: str) -> list[dict[str, str]]:
    out = []
    for e in exc.errors(include_url=False):
        name = ".".join(str(p) for p in e["loc"]) or where
        out.append({"parameter": name, "in": where, "detail": _message(e)})
    return out


def _summary(errors: list[dict[str, str]]) -> str:
    first = errors[0]
    where = first.get("pointer") or first.get("parameter", "")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['detail']}{more}"


async def read_body(request: Request, max_bytes: int = DEFAULT_MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"request body exceeds the limit of {max_bytes} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BadRequest("client disconnected before the body was complete") from None
    return b"".join(chunks)


async def parse_json_body(request: Request, model: type[M],
                          max_bytes: int = DEFAULT_MAX_BODY) -> M:
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {media or 'none'}",
            headers={"Accept": "application/json"})
    raw = await read_body(request, max_bytes)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = body_errors(exc)
        raise ValidationFailed(_summary(errors), errors) from None


def parse_params(values: Mapping[str, Any], model: type[M], where: str) -> M:
    """Validate path or query values (strings, coerced by the model)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors = param_errors(exc, where)
        raise ValidationFailed(_summary(errors), errors) from None


def parse_query(request: Request, model: type[M]) -> M:
    params = request.query_params
    # repeated parameters stay lists; single ones are plain strings
    values = {k: (vs if len(vs := params.getlist(k)) > 1 else vs[0]) for k in params.keys()}
    return parse_params(values, model, "query")
