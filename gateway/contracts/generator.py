"""OpenAPI 3.1 documents built from the route table and the pydantic models that serve requests.

One document per API version (each distinct ``Operation.version``) and one named
``platform`` for the unversioned operations (health, OAuth token, JWKS, admin,
webhooks): those do not follow a version's deprecation and sunset, so they are
published once instead of being copied into every version. The routes that serve
the contract itself (tag ``contracts``) are in no document.

Request models are rendered in pydantic's ``validation`` mode, response models in
``serialization`` mode; path and query parameters are the fields of their params
model. Output is deterministic (``render``) so ``erp-gateway openapi check`` can
compare it byte for byte with the committed files.
"""

from __future__ import annotations

import http
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from gateway.contracts.components import (
    DESCRIPTION,
    HEADERS,
    PARAMETERS,
    PLATFORM_DESCRIPTION,
    PROBLEM_NOTES,
    PROBLEM_SCHEMA,
    PROBLEM_TYPES,
    SCHEMA_REF,
    SCOPE_DESCRIPTIONS,
    Json,
    problem_schemas,
    security_schemes,
)
from gateway.contracts.examples import Examples
from gateway.contracts.operation_examples import example_path, problem_example, validation_problem
from policies.problems import PROBLEM_JSON
from policies.request_id import HEADER as REQUEST_ID_HEADER

if TYPE_CHECKING:  # the table's handlers import this module
    from gateway.operations import Operation

OPENAPI_VERSION = "3.1.0"
PLATFORM = "platform"
# operations with this tag serve the contract (documents, docs page) and are in no document
CONTRACTS_TAG = "contracts"
# problem statuses every operation can answer with, and those its shape implies
ALWAYS_PROBLEMS = (500,)
AUTHENTICATED_PROBLEMS = (401, 403, 429)
BODY_PROBLEMS = (400, 413, 415)


def package_version() -> str:
    try:
        return metadata.version("erp-gateway")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _version_key(name: str) -> tuple[int, int, str]:
    match = re.fullmatch(r"v(\d+)", name)
    return (0, int(match.group(1)), name) if match else (1, 0, name)


def documented(operations: Iterable[Operation]) -> list[Operation]:
    """The operations that belong in some document (all but the contract routes)."""
    return [op for op in operations if op.tag != CONTRACTS_TAG]


def document_names(operations: Iterable[Operation]) -> list[str]:
    """Versions in order (``v1``, ``v2`` … ``v10``), then ``platform`` when it has operations."""
    ops = documented(operations)
    names = sorted({op.version for op in ops if op.version is not None}, key=_version_key)
    if PLATFORM in names:
        raise ValueError(f"{PLATFORM!r} is reserved for the unversioned operations")
    if any(op.version is None for op in ops):
        names.append(PLATFORM)
    return names


def operations_of(name: str, operations: Iterable[Operation]) -> list[Operation]:
    version = None if name == PLATFORM else name
    return [op for op in documented(operations) if op.version == version]


def documents(operations: Sequence[Operation]) -> dict[str, Json]:
    """Every document the route table produces, by name (``v1``, ``v2``, ``platform``)."""
    return {name: build_document(name, operations) for name in document_names(operations)}


def render(document: Mapping[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Schemas:
    """Component schemas of the models one document uses, in one pydantic pass."""

    def __init__(self, ops: Sequence[Operation]) -> None:
        inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
        for op in ops:
            inputs += [(m, "validation") for m in (op.path_params, op.query, op.body,
                                                    op.headers, op.raw_body) if m]
            inputs += [(m, "serialization") for m in (op.response, op.error_model) if m]
        unique = list(dict.fromkeys(inputs))
        refs, top = models_json_schema(unique, ref_template=SCHEMA_REF) if unique else ({}, {})
        self.components: dict[str, Json] = dict(top.get("$defs", {}))
        self._refs = refs
        for name, schema in problem_schemas().items():
            if name in self.components:
                raise ValueError(f"a model named {name!r} clashes with the problem schema")
            self.components[name] = schema
        self.examples = Examples(self.components)

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> Json:
        return dict(self._refs[(model, mode)])

    def inline(self, model: type[BaseModel]) -> Json:
        ref = self._refs[(model, "validation")]["$ref"]
        schema: Json = self.components[ref.rsplit("/", 1)[1]]
        return schema


def _parameters(op: Operation, schemas: _Schemas) -> list[Json]:
    params: list[Json] = []
    for where, model in (("path", op.path_params), ("query", op.query),
                         ("header", op.headers)):
        if model is None:
            continue
        schema = schemas.inline(model)
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k not in ("title", "description")}
            param: Json = {"name": name, "in": where,
                           "required": where == "path" or name in required, "schema": prop}
            described = schema["properties"][name].get("description")
            if described:
                param["description"] = described
            param["example"] = schemas.examples.of(prop, name)
            params.append(param)
    templated = set(re.findall(r"{([^}]+)}", op.path))
    declared = {p["name"] for p in params if p["in"] == "path"}
    if templated != declared:
        raise ValueError(f"{op.operation_id}: path {op.path} has parameters {sorted(templated)}, "
                         f"its path_params model declares {sorted(declared)}")
    params.append({"$ref": "#/components/parameters/RequestId"})
    return params


def _header_refs(*names: str) -> dict[str, Json]:
    wire = {"RequestId": REQUEST_ID_HEADER, "RateLimitPolicy": "RateLimit-Policy",
            "RateLimit": "RateLimit", "RetryAfter": "Retry-After",
            "RetryAfterRateLimited": "Retry-After", "CacheStatus": "Cache-Status", "Age": "Age",
            "Deprecation": "Deprecation", "Sunset": "Sunset", "SuccessorLink": "Link",
            "WwwAuthenticate": "WWW-Authenticate"}
    return {wire[n]: {"$ref": f"#/components/headers/{n}"} for n in names}


def _common_headers(op: Operation) -> list[str]:
    names = ["RequestId"]
    if op.scope is not None:
        names += ["RateLimitPolicy", "RateLimit"]
    if op.version is not None:
        names += ["Deprecation", "Sunset", "SuccessorLink"]
    return names


def problem_statuses(op: Operation) -> list[int]:
    """The problem statuses documented for an operation: its own plus the ones its shape implies."""
    statuses = set(op.problems) | set(ALWAYS_PROBLEMS)
    if op.scope is not None:
        statuses |= set(AUTHENTICATED_PROBLEMS)
    if op.path_params or op.query or op.body or op.headers or op.raw_body:
        statuses.add(422)
    if op.query is not None:
        statuses |= {400, 414}  # 400: not percent-encoded UTF-8, or control characters
    if op.headers is not None or op.path_params is not None:
        statuses.add(400)
    if op.body is not None or op.raw_body is not None:
        statuses |= set(BODY_PROBLEMS)
    if op.path_params is not None:
        statuses.add(404)
    if op.version is not None:
        statuses.add(410)
    statuses.discard(op.status)
    return sorted(statuses)


def _problem_response(op: Operation, status: int, schemas: _Schemas, example: Json) -> Json:
    cls = PROBLEM_TYPES.get(status)
    title = cls.title if cls else http.HTTPStatus(status).phrase
    note = PROBLEM_NOTES.get(status, title + ".")
    names = _common_headers(op)
    if status == 429:
        names.append("RetryAfterRateLimited")
    elif status in (503, 504):
        names.append("RetryAfter")
    elif status == 401:
        names.append("WwwAuthenticate")
    if op.error_model is not None and status != 500:
        schema = schemas.ref(op.error_model, "serialization")
        return {"description": f"{title}: {note}", "headers": _header_refs(*names),
                "content": {"application/json": {
                    "schema": schema, "example": schemas.examples.of(schema)}}}
    return {
        "description": f"{title}: {note}",
        "headers": _header_refs(*names),
        "content": {PROBLEM_JSON: {"schema": {"$ref": SCHEMA_REF.format(model=PROBLEM_SCHEMA)},
                                   "example": example}},
    }


def _success_response(op: Operation, schemas: _Schemas) -> Json:
    names = _common_headers(op)
    if op.cached:
        names += ["CacheStatus", "Age"]
    response: Json = {"description": http.HTTPStatus(op.status).phrase,
                      "headers": _header_refs(*names)}
    if op.status == 204:
        return response
    if op.response is None:
        # no response model: the body's media type and shape are not part of the contract
        response["description"] += " (body not described by a model)"
        response["content"] = {"*/*": {"schema": {}}}
    else:
        schema = schemas.ref(op.response, "serialization")
        response["content"] = {"application/json": {
            "schema": schema, "example": schemas.examples.of(schema)}}
    return response


def _operation(op: Operation, schemas: _Schemas) -> Json:
    parameters = _parameters(op, schemas)
    values: dict[str, dict[str, Any]] = {}
    for param in parameters:
        if "example" in param:
            values.setdefault(param["in"], {})[param["name"]] = param["example"]
    # the table parses `body`; a `raw_body` the handler reads is documented the same way
    model, media = ((op.body, "application/json") if op.body is not None
                    else (op.raw_body, op.raw_media_type))
    body_schema = schemas.ref(model, "validation") if model is not None else None
    body = schemas.examples.of(body_schema) if body_schema is not None else None
    instance = example_path(op, values.get("path", {}))
    invalid = validation_problem(op, values, body)
    out: Json = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": {str(op.status): _success_response(op, schemas)}
                     | {str(s): _problem_response(op, s, schemas,
                                                problem_example(op, s, instance, invalid))
                        for s in problem_statuses(op)},
    }
    if op.description:
        out["description"] = op.description
    if body_schema is not None:
        out["requestBody"] = {"required": True, "content": {
            media: {"schema": body_schema, "example": body}}}
    if op.scope is None:
        out["security"] = []
    else:
        if op.scope not in SCOPE_DESCRIPTIONS:
            raise ValueError(f"{op.operation_id}: unknown scope {op.scope!r}")
        out["security"] = [{"oauth2": [op.scope]}, {"apiKey": []}]
    return out


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reachable(paths: Json, components: dict[str, Json]) -> dict[str, Json]:
    """Only the schemas the operations reach (params models are inlined, not referenced)."""
    prefix = SCHEMA_REF.format(model="")
    todo = [r for r in _refs(paths) if r.startswith(prefix)]
    todo.append(prefix + PROBLEM_SCHEMA)
    seen: set[str] = set()
    while todo:
        name = todo.pop()[len(prefix):]
        if name in seen:
            continue
        seen.add(name)
        todo += [r for r in _refs(components[name]) if r.startswith(prefix)]
    return {name: schema for name, schema in components.items() if name in seen}


def build_document(name: str, operations: Sequence[Operation]) -> Json:
    """The OpenAPI 3.1 document ``name`` (a version such as ``v1``, or ``platform``)."""
    ops = operations_of(name, operations)
    if not ops:
        raise KeyError(f"no operations for document {name!r}")
    ids = [op.operation_id for op in ops]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate operation ids in {name}: "
                         f"{sorted({i for i in ids if ids.count(i) > 1})}")
    schemas = _Schemas(ops)
    paths: Json = {}
    for op in ops:
        item = paths.setdefault(op.path, {})
        method = op.method.lower()
        if method in item:
            raise ValueError(f"{op.operation_id}: {op.method} {op.path} is already "
                             f"{item[method]['operationId']}")
        item[method] = _operation(op, schemas)
    platform = name == PLATFORM
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "erp-gateway platform API" if platform else f"erp-gateway API {name}",
            "version": f"{name} (erp-gateway {package_version()})",
            "description": PLATFORM_DESCRIPTION if platform else DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in sorted({op.tag for op in ops})],
        "paths": paths,
        "components": {
            "schemas": _reachable(paths, schemas.components),
            "securitySchemes": security_schemes(),
            "headers": dict(HEADERS),
            "parameters": dict(PARAMETERS),
        },
    }
