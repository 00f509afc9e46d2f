"""gzip for large answers (OpenAPI documents, 100-item queries); small ones go as they are.

``CompressionMiddleware`` compresses a response when the client accepts gzip (RFC 9110
``Accept-Encoding`` with q-values: ``gzip;q=0`` refuses it), the type is text-like (JSON,
problem+json, HTML, CSS, JavaScript, plain text), no coding is applied yet, and the body
reaches ``minimum_bytes`` (below it the header and CPU cost more than the bytes saved). A
compressed answer gets ``Vary: Accept-Encoding`` and its strong ``ETag`` weakened (the
bytes differ, the meaning does not; an ``If-None-Match`` with either form still matches).
``Cache-Control: no-transform`` and ranges (206) go as they are, and
``text/event-stream`` is never compressed: a compressor holds events back until its buffer
fills, and the stream's whole point is to deliver each event now.

A client that does not accept gzip costs one scan of the request headers and nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.conditional import weaken

__all__ = ["CompressionConfig", "CompressionMiddleware", "accepts_gzip"]

_COMPRESSIBLE = (b"application/json", b"application/problem+json", b"text/html", b"text/css",
                 b"text/javascript", b"application/javascript", b"text/plain",
                 b"application/openapi+json", b"image/svg+xml")
_NEVER = b"text/event-stream"
# compressed bodies of answers with a strong ETag (the OpenAPI documents: 170 KB, over a
# millisecond of CPU each time): the same tag is the same bytes, so once is enough
_BY_ETAG: dict[tuple[bytes, int], bytes] = {}
_BY_ETAG_MAX = 64
# no body, or a range of the uncompressed bytes
_AS_IS = {204, 206, 304}


class CompressionConfig(BaseModel):
    """``[compression]``: gzip for answers of at least ``minimum_bytes``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    minimum_bytes: int = Field(default=1024, ge=0)
    # zlib's default: level 9 costs about twice the CPU for a few per cent fewer bytes
    level: int = Field(default=6, ge=1, le=9)


def _q(params: list[bytes]) -> float:
    for param in params:
        name, _, value = param.strip().partition(b"=")
        if name.strip().lower() == b"q":
            try:
                q = float(value.strip())
            except ValueError:
                return 0.0
            return q if 0.0 <= q <= 1.0 else 0.0
    return 1.0


# browsers send a handful of distinct Accept-Encoding values: parse each once
_ACCEPTS: dict[tuple[bytes, ...], bool] = {}
_ACCEPTS_MAX = 256


def accepts_gzip(values: list[bytes]) -> bool:
    """Whether ``Accept-Encoding`` lines admit gzip (explicitly, or through ``*``)."""
    key = tuple(values)
    found = _ACCEPTS.get(key)
    if found is None:
        found = _parse_accepts_gzip(values)
        if len(_ACCEPTS) >= _ACCEPTS_MAX:
            _ACCEPTS.clear()
        _ACCEPTS[key] = found
    return found


def _parse_accepts_gzip(values: list[bytes]) -> bool:
    gzip_q: float | None = None
    star_q: float | None = None
    for value in values:
        for member in value.split(b","):
            coding, *params = member.split(b";")
            name = coding.strip().lower()
            if name in (b"gzip", b"x-gzip"):
                gzip_q = max(gzip_q or 0.0, _q(params))
            elif name == b"*":
                star_q = _q(params)
    if gzip_q is not None:
        return gzip_q > 0
    return star_q is not None and star_q > 0


def _compressible(headers: Iterable[tuple[bytes, bytes]], minimum: int) -> bool:
    content_type = b""
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            # known small: not worth holding the start message back for
            if value.isdigit() and int(value) < minimum:
                return False
        elif lowered == b"content-encoding":
            return False
        elif lowered == b"cache-control" and b"no-transform" in value.lower():
            return False
        elif lowered == b"content-type":
            content_type = value.split(b";", 1)[0].strip().lower()
    if content_type == _NEVER:
        return False
    return content_type in _COMPRESSIBLE or content_type.endswith(b"+json")


def _recoded(headers: list[tuple[bytes, bytes]], length: int | None
             ) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    vary = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            continue
        if lowered == b"etag":
            value = weaken(value)
        elif lowered == b"vary":
            vary = True
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                value += b", Accept-Encoding"
        out.append((name, value))
    if not vary:
        out.append((b"vary", b"Accept-Encoding"))
    out.append((b"content-encoding", b"gzip"))
    if length is not None:
        out.append((b"content-length", b"%d" % length))
    return out


class _Gzip:
    """One response's ``send``: holds the start until the first body decides."""

    __slots__ = ("compressor", "level", "minimum", "passing", "send", "start")

    def __init__(self, send: Send, minimum: int, level: int) -> None:
        self.send = send
        self.minimum = minimum
        self.level = level
        self.start: Message | None = None
        self.compressor: Any = None
        self.passing = False

    async def __call__(self, message: Message) -> None:
        if self.passing:  # the usual case: a small answer, decided at its start
            await self.send(message)
            return
        kind = message["type"]
        if kind == "http.response.start":
            headers = message.get("headers", ())
            if message["status"] in _AS_IS or message["status"] < 200 or not _compressible(
                    headers, self.minimum):
                self.passing = True
                await self.send(message)
            else:
                self.start = {**message, "headers": list(headers)}
            return
        if kind != "http.response.body" or (self.start is None and self.compressor is None):
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        if self.start is not None:
            start, self.start = self.start, None
            if not more:
                if len(body) < self.minimum:
                    await self.send(start)
                    await self.send(message)
                    return
                data = _compressed(body, self.level, start["headers"])
                start["headers"] = _recoded(start["headers"], len(data))
                await self.send(start)
                await self.send({"type": "http.response.body", "body": data})
                return
            # streamed: the length is not known ahead, so it goes
            self.compressor = _compressor(self.level)
            start["headers"] = _recoded(start["headers"], None)
            await self.send(start)
        data = self.compressor.compress(body)
        if not more:
            data += self.compressor.flush()
        if data or not more:
            await self.send({"type": "http.response.body", "body": data, "more_body": more})


def _compressed(body: bytes, level: int, headers: list[tuple[bytes, bytes]]) -> bytes:
    tag = next((v for k, v in headers if k.lower() == b"etag"), None)
    key = (tag, level) if tag is not None and not tag.startswith(b"W/") else None
    if key is not None and key in _BY_ETAG:
        return _BY_ETAG[key]
    packed = _compressor(level)
    data: bytes = packed.compress(body) + packed.flush()
    if key is not None:
        if len(_BY_ETAG) >= _BY_ETAG_MAX:
            _BY_ETAG.clear()
        _BY_ETAG[key] = data
    return data


def _compressor(level: int) -> Any:
    # wbits 31: a gzip header and trailer around the deflate stream
    return zlib.compressobj(level, zlib.DEFLATED, 31)


class CompressionMiddleware:
    """gzip for large text-like answers to clients that accept it."""

    def __init__(self, app: ASGIApp, config: CompressionConfig | None = None) -> None:
        self.app = app
        config = config or CompressionConfig()
        self.enabled = config.enabled
        self.minimum = config.minimum_bytes
        self.level = config.level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        offered = [v for k, v in scope["headers"] if k == b"accept-encoding"]
        if not offered or not accepts_gzip(offered):
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Gzip(send, self.minimum, self.level))
