"""Input bounds: one named limit per dimension of a request, checked before any costly work.

Each limit has a default sized for the gateway's own operations (a 100-item query, a
label request with customs lines) with room to spare; anything beyond it is refused with
an RFC 9457 problem before it reaches a parser, a model or the ERP:

=====================  =======  ======================================================
limit                  default  refused with
=====================  =======  ======================================================
max_header_count           64   431 (``HeadersTooLarge``)
max_header_bytes       16 384   431: names and values of all headers together
max_path_bytes          2 048   414 (``UriTooLong``)
max_query_bytes         4 096   414
max_query_params           32   414
max_body_bytes         65 536   413
max_json_depth             16   400: nesting of arrays and objects
max_json_elements       2 000   400: array items plus object members, all levels
max_string_bytes        4 096   400 (JSON strings and keys); 414 for one query value
max_errors_reported        20   the first N validation errors are listed, then a count
=====================  =======  ======================================================

``HeaderBoundsGate`` checks the first three dimensions as the first gate of the policy
chain; ``policies.validation`` checks the rest where it parses.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import Scope

from policies.chain import Headers
from policies.problems import HeadersTooLarge, UriTooLong

__all__ = ["HeaderBoundsGate", "InputLimits"]


class InputLimits(BaseModel):
    """The ``[limits]`` config section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_header_count: int = Field(default=64, ge=8, le=1000)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    max_path_bytes: int = Field(default=2048, ge=256, le=65536)
    max_query_bytes: int = Field(default=4096, ge=256, le=65536)
    max_query_params: int = Field(default=32, ge=1, le=1000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_json_depth: int = Field(default=16, ge=2, le=128)
    max_json_elements: int = Field(default=2_000, ge=10, le=1_000_000)
    max_string_bytes: int = Field(default=4096, ge=64, le=1024 * 1024)
    max_errors_reported: int = Field(default=20, ge=1, le=1000)


class HeaderBoundsGate:
    """Refuses a request whose headers, path or query string exceed the limits (431, 414).

    The server in front (uvicorn) refuses what is larger still, before any of this runs;
    ``gateway.cli`` sizes its buffers above these limits so the answer is a problem here.
    """

    name = "bounds"

    def __init__(self, limits: InputLimits) -> None:
        self.limits = limits

    async def __call__(self, scope: Scope, state: dict[str, Any]) -> Headers:
        limits = self.limits
        headers = scope["headers"]
        if len(headers) > limits.max_header_count:
            raise HeadersTooLarge(f"the request has {len(headers)} header fields; the limit "
                                  f"is {limits.max_header_count}")
        size = sum(map(len, chain.from_iterable(headers)))
        if size > limits.max_header_bytes:
            raise HeadersTooLarge(f"the request's header fields total {size} bytes; the limit "
                                  f"is {limits.max_header_bytes}")
        path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if len(path) > limits.max_path_bytes:
            raise UriTooLong(f"the path is {len(path)} bytes; the limit is "
                             f"{limits.max_path_bytes}")
        query = scope.get("query_string", b"")
        if len(query) > limits.max_query_bytes:
            raise UriTooLong(f"the query string is {len(query)} bytes; the limit is "
                             f"{limits.max_query_bytes}")
        return ()
