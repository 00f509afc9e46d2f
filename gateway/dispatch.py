"""From the operation table to ASGI: match, parse typed input, call the handler, answer.

A handler is a plain async function whose parameters say what it needs, by name:

- ``path``, ``query``, ``body``, ``headers``: the operation's input models, validated
  and within the limits before the handler runs (422, 400, 413 …);
- ``principal``: the authenticated caller (the policy chain already checked its scope);
- ``raw``: the body as bytes, within ``max_body_bytes``, for an operation whose row
  documents a ``raw_body`` (a signed webhook verifies the bytes before parsing them);
- ``request``: the raw Starlette request (the OAuth token endpoint reads its form);
- any other name: a service of the running gateway (``catalog``, ``shipping`` …), bound
  once when the app is assembled, so the signature shows what the handler uses.

It returns a pydantic model (sent as JSON with the operation's status), or a ``Response``
when it shapes the answer itself (the cached catalog reads, 201 with ``Location``).

Paths match on ``raw_path``, one percent-decoded segment per parameter, so an item code
with a slash (``HOSE%201%2F2``) is one parameter. One table entry per path carries every
method: a wrong method gets 405 with the full ``Allow``, and ``OPTIONS`` answers 204 with it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from gateway.operations import Operation
from policies.auth.types import PRINCIPAL_STATE_KEY
from policies.chain import RoutePolicy
from policies.limits import InputLimits
from policies.problems import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
)
from policies.validation import (
    check_media_type,
    parse_body,
    parse_params,
    parse_query_string,
    read_body,
)

__all__ = ["INPUTS", "OperationApp", "Router", "bind"]

# handler parameters filled from the request; every other parameter is a service
INPUTS = ("path", "query", "body", "headers", "raw", "principal", "request")
_MATCH_KEY = "gateway.match"
_NO_PARAMS: dict[str, str] = {}
# bounded memo sizes: cleared, not evicted, when full (a client cycling paths only costs
# the matching that a miss costs anyway)
_SEEN_SIZE = 4096
_MADE_SIZE = 4096
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


def bind(op: Operation, services: object) -> Callable[..., Awaitable[Any]]:
    """The operation's handler with its services bound; ValueError names what is missing."""
    params = inspect.signature(op.handler).parameters
    declared = {"path": op.path_params, "query": op.query, "body": op.body,
                "headers": op.headers}
    for name, model in declared.items():
        if (model is not None) != (name in params):
            raise ValueError(f"{op.operation_id}: the table {'declares' if model else 'has no'} "
                             f"{name} model but the handler "
                             f"{'takes no' if model else 'takes a'} {name!r} parameter")
    bound: dict[str, Any] = {}
    for name, param in params.items():
        if name in INPUTS or param.default is not inspect.Parameter.empty:
            continue
        if not hasattr(services, name):
            raise ValueError(f"{op.operation_id}: the handler needs {name!r}, which the "
                             "gateway's services do not have")
        bound[name] = getattr(services, name)
    return partial(op.handler, **bound) if bound else op.handler


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("client disconnected before the body was complete")
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _HeaderReader:
    """The request headers an operation's headers model names (by alias), each sent once;
    a missing or malformed one is a 400 that says what the header is for."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        self.names = {(f.alias or n).lower().encode("latin-1"): (f.alias or n)
                      for n, f in model.model_fields.items()}
        self.about = {(f.alias or n): f.description or "" for n, f in model.model_fields.items()}

    def __call__(self, scope: Scope) -> BaseModel:
        values: dict[str, str] = {}
        for key, value in scope["headers"]:
            name = self.names.get(key)
            if name is None:
                continue
            if name in values:
                raise BadRequest(f"the {name} header is sent more than once; send it once")
            values[name] = value.decode("latin-1")
        try:
            return self.model.model_validate(values)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            name = str(error["loc"][0]) if error["loc"] else "?"
            if error["type"] == "missing":
                raise BadRequest(f"the {name} header is required: {self.about.get(name)}"
                                 ) from None
            raise BadRequest(f"the {name} header is not valid ({error['msg']}): "
                             f"{self.about.get(name)}") from None


class _PathParser:
    """Path values into the path model; a model of patterned strings skips pydantic when
    every value matches (the hot path reads one SKU per request)."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model
        schema = model.model_json_schema()
        self.fast: dict[str, tuple[re.Pattern[str], int]] | None = {}
        for name, prop in schema.get("properties", {}).items():
            if prop.get("type") != "string" or "pattern" not in prop:
                self.fast = None
                break
            self.fast[name] = (re.compile(prop["pattern"]), prop.get("maxLength", 1 << 30))

        # models already made, by value: storefronts read the same hot SKUs over and over
        self.made: dict[tuple[str, ...], BaseModel] = {}

    def __call__(self, values: dict[str, str], limits: InputLimits) -> BaseModel:
        key = tuple(values.values())
        found = self.made.get(key)
        if found is not None:
            return found
        fast = self.fast
        if fast is not None and all(
                len(values[name]) <= size and pattern.fullmatch(values[name])
                for name, (pattern, size) in fast.items()):
            model = self.model.model_construct(None, **values)
            if len(self.made) >= _MADE_SIZE:
                self.made.clear()
            self.made[key] = model
            return model
        return parse_params(values, self.model, "path", limits)


class OperationApp:
    """One operation as a plain ASGI app: typed input, handler, response."""

    __slots__ = ("call", "headers", "limits", "op", "path", "raw", "status", "wants")

    def __init__(self, op: Operation, call: Callable[..., Awaitable[Any]],
                 limits: InputLimits) -> None:
        self.op = op
        self.call = call
        self.limits = limits
        self.status = op.status
        self.path = _PathParser(op.path_params) if op.path_params else None
        self.headers = _HeaderReader(op.headers) if op.headers else None
        params = inspect.signature(op.handler).parameters
        self.wants = frozenset(n for n in ("principal", "request") if n in params)
        self.raw = "raw" in params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op, limits = self.op, self.limits
        kwargs: dict[str, Any] = {}
        if self.path is not None:
            kwargs["path"] = self.path(scope["path_params"], limits)
        if op.query is not None:
            kwargs["query"] = parse_params(
                parse_query_string(scope.get("query_string", b""), limits), op.query, "query",
                limits)
        if self.headers is not None:
            kwargs["headers"] = self.headers(scope)
        if op.body is not None:
            check_media_type(_header(scope, b"content-type"))
            raw = await read_body(_chunks(receive), _header(scope, b"content-length"),
                                  limits.max_body_bytes)
            kwargs["body"] = parse_body(raw, op.body, limits)
        elif self.raw:
            kwargs["raw"] = await read_body(_chunks(receive), _header(scope, b"content-length"),
                                            limits.max_body_bytes)
        if self.wants:
            if "principal" in self.wants:
                kwargs["principal"] = scope["state"][PRINCIPAL_STATE_KEY]
            if "request" in self.wants:
                kwargs["request"] = Request(scope, receive, send)
        result = await self.call(**kwargs)
        if not isinstance(result, Response):
            result = Response(result.model_dump_json(), status_code=self.status,
                              media_type="application/json")
        await result(scope, receive, send)

    def __repr__(self) -> str:
        return f"OperationApp({self.op.operation_id!r})"


@dataclass
class _PathEntry:
    template: str
    pattern: re.Pattern[str] | None
    names: tuple[str, ...]
    # method → (policy, the bound operation app once the services exist, operation)
    methods: dict[str, list[Any]] = field(default_factory=dict)
    allow: str = ""
    # what a wrong method or OPTIONS meets: public only when every method of the path is
    fallback: RoutePolicy | None = None


def _compile(template: str) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    names = tuple(_PARAM.findall(template))
    if not names:
        return None, ()
    pieces = _PARAM.split(template)
    regex = "".join(re.escape(p) if i % 2 == 0 else "([^/]+)" for i, p in enumerate(pieces))
    return re.compile(regex), names


class Router(BaseRoute):
    """Every operation of the table as one Starlette route (one match per request).

    ``resolve`` is the policy chain's resolver: it matches once and leaves the match in the
    scope, where ``handle`` finds it. The paths and policies are known from the table alone;
    ``bind`` attaches the handlers once the services exist (the app's lifespan), and
    ``unbind`` detaches them at shutdown (503 until the next start).
    """

    def __init__(self, operations: Iterable[Operation]) -> None:
        self._static: dict[str, _PathEntry] = {}
        self._templated: list[_PathEntry] = []
        by_path: dict[str, _PathEntry] = {}
        self._ops: list[Operation] = []
        # matches by raw path (values are read-only): a hot path is one dict lookup
        self._seen: dict[str, tuple[_PathEntry, dict[str, str]]] = {}
        for op in operations:
            self._ops.append(op)
            entry = by_path.get(op.path)
            if entry is None:
                pattern, names = _compile(op.path)
                entry = by_path[op.path] = _PathEntry(op.path, pattern, names)
                (self._templated.append(entry) if pattern else
                 self._static.__setitem__(op.path, entry))
            if op.method in entry.methods:
                raise ValueError(f"{op.operation_id}: {op.method} {op.path} is already "
                                 f"{entry.methods[op.method][2].operation_id}")
            entry.methods[op.method] = [op.policy, None, op]
        for entry in by_path.values():
            methods = set(entry.methods)
            if "GET" in methods:
                methods.add("HEAD")
            entry.allow = ", ".join(sorted(methods | {"OPTIONS"}))
            policies = [p for p, _, _ in entry.methods.values()]
            first = next(iter(entry.methods.values()))[2]
            entry.fallback = RoutePolicy(first.operation_id, all(p.public for p in policies),
                                         None, first.group)

    def operations(self) -> list[Operation]:
        return list(self._ops)

    def bind(self, services: object, limits: InputLimits) -> None:
        """Attach every operation's handler with its services (ValueError if one is missing)."""
        apps = {op.operation_id: OperationApp(op, bind(op, services), limits)
                for op in self._ops}
        for entry in (*self._static.values(), *self._templated):
            for slot in entry.methods.values():
                slot[1] = apps[slot[2].operation_id]

    def unbind(self) -> None:
        for entry in (*self._static.values(), *self._templated):
            for slot in entry.methods.values():
                slot[1] = None

    def _match(self, scope: Scope) -> tuple[_PathEntry, dict[str, str]] | None:
        path: str = scope["path"]
        entry = self._static.get(path)
        if entry is not None:
            return entry, _NO_PARAMS
        raw = scope.get("raw_path")
        text = raw.decode("latin-1") if raw else path
        seen = self._seen.get(text)
        if seen is not None:
            return seen
        found = self._match_templated(text)
        if found is not None:
            if len(self._seen) >= _SEEN_SIZE:
                self._seen.clear()
            self._seen[text] = found
        return found

    def _match_templated(self, text: str) -> tuple[_PathEntry, dict[str, str]] | None:
        for entry in self._templated:
            assert entry.pattern is not None
            found = entry.pattern.fullmatch(text)
            if found is not None:
                values = {}
                for name, value in zip(entry.names, found.groups(), strict=True):
                    try:
                        values[name] = unquote(value, errors="strict")
                    except UnicodeDecodeError:
                        raise BadRequest(f"the {name} path segment is not percent-encoded "
                                         "UTF-8") from None
                return entry, values
        return None

    def resolve(self, scope: Scope) -> RoutePolicy | None:
        """The policy of the operation ``scope`` is for (the policy chain's resolver)."""
        try:
            match = self._match(scope)
        except BadRequest:
            match = None
        scope[_MATCH_KEY] = match
        if match is None:
            return None
        entry = match[0]
        found = entry.methods.get(scope["method"])
        if found is None and scope["method"] == "HEAD":
            found = entry.methods.get("GET")
        return found[0] if found is not None else entry.fallback

    # Starlette's routing interface: this one route takes every request
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return (Match.FULL, {}) if scope["type"] == "http" else (Match.NONE, {})

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError("operations build their own links")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = scope[_MATCH_KEY] if _MATCH_KEY in scope else self._match(scope)
        if match is None:
            raise NotFound(f"no operation at {scope['path']}")
        entry, values = match
        method = scope["method"]
        found = entry.methods.get(method)
        if found is None and method == "HEAD":
            found = entry.methods.get("GET")
        if found is None:
            if method == "OPTIONS":
                await Response(status_code=204, headers={"Allow": entry.allow})(
                    scope, receive, send)
                return
            raise MethodNotAllowed(f"{method} is not allowed on {scope['path']}; allowed: "
                                   f"{entry.allow}", headers={"Allow": entry.allow})
        app = found[1]
        if app is None:
            raise ServiceUnavailable("the gateway is not serving yet (starting or stopped)",
                                     retry_after=1)
        scope["path_params"] = values
        await app(scope, receive, send)
