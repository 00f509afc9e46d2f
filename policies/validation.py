"""Request validation with the same pydantic models that generate the contract, within bounds.

Body rules: too large → 413, not JSON → 415, malformed JSON, a duplicate object key, or
nesting, element count or a string beyond ``InputLimits`` → 400, schema errors → 422
listing the first ``max_errors_reported`` errors with a JSON pointer (``#/items/0/sku``)
or the parameter name, and how many more there were. Query strings are split once, in
linear time, under a parameter count and size; a repeated parameter becomes a list.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote_plus

from pydantic import BaseModel, ValidationError

from policies.limits import InputLimits
from policies.problems import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    UriTooLong,
    ValidationFailed,
)

__all__ = ["DEFAULT_LIMITS", "body_errors", "check_media_type", "decode_json", "param_errors",
           "parse_body", "parse_params", "parse_query_string", "read_body", "validation_failed"]

M = TypeVar("M", bound=BaseModel)

DEFAULT_LIMITS = InputLimits()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _pointer(loc: tuple[int | str, ...]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in loc]
    return "#/" + "/".join(parts) if parts else "#"


def _errors(exc: ValidationError, limits: InputLimits) -> list[Mapping[str, Any]]:
    # errors() builds one dict per error: past the reported few, only the count is needed
    return list(exc.errors(include_url=False, include_context=False,
                           include_input=False)[:limits.max_errors_reported])


def body_errors(exc: ValidationError,
                limits: InputLimits = DEFAULT_LIMITS) -> list[dict[str, str]]:
    return [{"pointer": _pointer(e["loc"]), "detail": str(e["msg"])}
            for e in _errors(exc, limits)]


def param_errors(exc: ValidationError, where: str,
                 limits: InputLimits = DEFAULT_LIMITS) -> list[dict[str, str]]:
    out = []
    for e in _errors(exc, limits):
        name = ".".join(str(p) for p in e["loc"]) or where
        out.append({"parameter": name, "in": where, "detail": str(e["msg"])})
    return out


def validation_failed(errors: list[dict[str, str]], total: int) -> ValidationFailed:
    """The 422 problem: the listed errors, the first one in ``detail``, the total counted."""
    first = errors[0]
    where = first.get("pointer") or first.get("parameter", "")
    more = f" (and {total - 1} more)" if total > 1 else ""
    problem = ValidationFailed(f"{where}: {first['detail']}{more}", errors)
    if total > len(errors):
        problem.extensions["errors_omitted"] = total - len(errors)
    return problem


def check_media_type(content_type: str | None) -> None:
    """415 unless the body is declared JSON (``application/json`` or ``application/*+json``)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (media.startswith("application/")
                                            and media.endswith("+json")):
        raise UnsupportedMediaType(
            f"expected Content-Type application/json, got {media or 'none'}",
            headers={"Accept": "application/json"})


async def read_body(chunks: AsyncIterable[bytes], declared: str | None,
                    max_bytes: int) -> bytes:
    """The whole body, refused (413) as soon as it is known to exceed ``max_bytes``."""
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"request body exceeds the limit of {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _check_shape(data: Any, limits: InputLimits) -> None:
    """Depth, element count and string sizes of a decoded document (iterative: no recursion)."""
    max_depth, max_elements = limits.max_json_depth, limits.max_json_elements
    max_string = limits.max_string_bytes
    if type(data) is str and len(data) > max_string:
        raise BadRequest(f"a string of {len(data)} characters exceeds the limit of {max_string}")
    elements = 0
    stack: list[tuple[Any, int]] = [(data, 1)] if type(data) in (dict, list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise BadRequest(f"the JSON body nests deeper than {max_depth} levels")
        elements += len(value)
        if elements > max_elements:
            raise BadRequest(f"the JSON body has more than {max_elements} array items and "
                             "object members")
        if type(value) is dict:
            if value and max(map(len, value)) > max_string:
                raise BadRequest(f"an object key exceeds the limit of {max_string} characters")
            children: Any = value.values()
        else:
            children = value
        for child in children:
            kind = type(child)
            if kind is str:
                if len(child) > max_string:
                    raise BadRequest(f"a string of {len(child)} characters exceeds the limit "
                                     f"of {max_string}")
            elif kind is dict or kind is list:
                stack.append((child, depth + 1))


def decode_json(raw: bytes, limits: InputLimits = DEFAULT_LIMITS) -> Any:
    """Decode a request body: 400 for malformed JSON, a duplicate key or a shape out of bounds."""
    try:
        data = json.loads(raw, object_pairs_hook=_unique_pairs)
    except _DuplicateKey as exc:
        raise BadRequest(f"the JSON body repeats the key {_clip(exc.key)!r} in one object; "
                         "send each member once") from None
    except RecursionError:
        raise BadRequest(f"the JSON body nests deeper than {limits.max_json_depth} levels"
                         ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    _check_shape(data, limits)
    return data


class _UnknownKeys:
    """Finds members a model forbids (``extra="forbid"``) along its JSON schema.

    pydantic reports each one as an error, and turning thousands of them into dicts costs
    milliseconds; when there are more than the problem lists, this walk counts them and the
    problem lists the first few without asking pydantic.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        schema = model.model_json_schema()
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self.root = schema

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.defs[node["$ref"].rsplit("/", 1)[1]]
        return node

    def find(self, data: Any) -> tuple[list[str], int]:
        found: list[str] = []
        total = 0
        stack: list[tuple[Any, dict[str, Any], str]] = [(data, self.root, "#")]
        while stack:
            value, node, pointer = stack.pop()
            node = self._resolve(node)
            branches = [self._resolve(b) for b in node.get("anyOf", ())]
            if branches:
                fitting = [b for b in branches if b.get("type") == _json_type(value)]
                if len(fitting) != 1:
                    continue  # ambiguous: pydantic decides
                node = fitting[0]
            if isinstance(value, dict) and node.get("type") == "object":
                props: dict[str, Any] = node.get("properties", {})
                if node.get("additionalProperties") is False:
                    extra = [key for key in value if key not in props]
                    total += len(extra)
                    found.extend(f"{pointer}/{_escape(k)}" for k in extra[:64 - len(found)])
                stack.extend((child, props[key], f"{pointer}/{_escape(key)}")
                             for key, child in value.items()
                             if key in props and isinstance(child, dict | list))
            elif isinstance(value, list) and isinstance(node.get("items"), dict):
                stack.extend((item, node["items"], f"{pointer}/{i}")
                             for i, item in enumerate(value) if isinstance(item, dict | list))
        return found, total


def _json_type(value: Any) -> str:
    match value:
        case dict():
            return "object"
        case list():
            return "array"
        case str():
            return "string"
        case bool():
            return "boolean"
        case None:
            return "null"
        case _:
            return "number"


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


_unknown_keys: dict[type[BaseModel], _UnknownKeys] = {}


def parse_body(raw: bytes, model: type[M], limits: InputLimits = DEFAULT_LIMITS) -> M:
    """A body model from raw JSON bytes (400 for the JSON itself, 422 for the schema)."""
    data = decode_json(raw, limits)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        total = exc.error_count()
        if total > limits.max_errors_reported:
            finder = _unknown_keys.get(model)
            if finder is None:
                finder = _unknown_keys[model] = _UnknownKeys(model)
            unknown, count = finder.find(data)
            if count > limits.max_errors_reported:
                listed = [{"pointer": p, "detail": "Extra inputs are not permitted"}
                          for p in unknown[:limits.max_errors_reported]]
                raise validation_failed(listed, total) from None
        raise validation_failed(body_errors(exc, limits), total) from None


def parse_params(values: Mapping[str, Any], model: type[M], where: str,
                 limits: InputLimits = DEFAULT_LIMITS) -> M:
    """Validate path, query or header values (strings, coerced by the model)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_failed(param_errors(exc, where, limits), exc.error_count()) from None


def parse_query_string(query: bytes, limits: InputLimits = DEFAULT_LIMITS
                       ) -> dict[str, str | list[str]]:
    """``a=1&b=2&a=3`` → ``{"a": ["1", "3"], "b": "2"}`` in one pass, within the limits."""
    if not query:
        return {}
    if len(query) > limits.max_query_bytes:
        raise UriTooLong(f"the query string is {len(query)} bytes; the limit is "
                         f"{limits.max_query_bytes}")
    fields = query.split(b"&")
    if len(fields) > limits.max_query_params:
        raise UriTooLong(f"the query string has {len(fields)} parameters; the limit is "
                         f"{limits.max_query_params}")
    out: dict[str, str | list[str]] = {}
    for field in fields:
        if not field:
            continue
        name_b, _, value_b = field.partition(b"=")
        try:
            name = unquote_plus(name_b.decode("ascii"), errors="strict")
            value = unquote_plus(value_b.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            raise BadRequest("the query string is not percent-encoded UTF-8") from None
        if _CONTROL.search(value) or _CONTROL.search(name):
            raise BadRequest(f"query parameter {_clip(name)!r} contains control characters")
        previous = out.get(name)
        if previous is None:
            out[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            out[name] = [previous, value]
    return out
