"""The explicit route table: one ``Operation`` per endpoint.

The same table builds the Starlette routes and the OpenAPI documents, so the
contract cannot drift from what is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Send
from starlette.types import Scope as ASGIScope

from policies.auth import Scope

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    # API version the operation belongs to ("v1", "v2"), or None for unversioned routes
    version: str | None = None
    # auth scope required; None means public (health, contracts)
    scope: Scope | None = None
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # problem statuses this operation documents beyond the ones every route can return
    problems: tuple[int, ...] = ()
    # the response carries Cache-Status and Age
    cached: bool = False
    # request headers the operation requires (name → description)
    required_headers: dict[str, str] = field(default_factory=dict)
    description: str = ""


# checks the request's principal for a scope; raises a Problem (401/403) when it lacks it
Authorize = Callable[[Request, Scope], object]


class OperationApp:
    """One operation as a plain ASGI app: scope check, endpoint, response.

    Starlette would wrap a function endpoint in ``request_response``, which installs a
    second exception-handling layer per request. The app-level ``ExceptionMiddleware``
    already maps every exception these endpoints raise, so the route calls this directly.
    """

    __slots__ = ("authorize", "endpoint", "operation_id", "required")

    def __init__(self, op: Operation, authorize: Authorize) -> None:
        self.operation_id = op.operation_id
        self.endpoint = op.endpoint
        self.required = op.scope
        self.authorize = authorize

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        if self.required is not None:
            self.authorize(request, self.required)
        response = await self.endpoint(request)
        await response(scope, receive, send)

    def __repr__(self) -> str:
        return f"OperationApp({self.operation_id!r})"


def build_routes(operations: Sequence[Operation], authorize: Authorize) -> list[Route]:
    """Starlette routes with each operation's scope enforced from the table itself."""
    return [Route(op.path, OperationApp(op, authorize), methods=[op.method], name=op.operation_id)
            for op in operations]
