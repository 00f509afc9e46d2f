"""gzip: large text answers only, never event streams, ETags weakened, q-values honoured."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from policies.compression import CompressionConfig, CompressionMiddleware, accepts_gzip
from policies.conditional import entity_tag, none_match, weaken

LARGE = json.dumps({"items": [{"sku": f"SKU-{i:04d}", "available": i} for i in range(100)]})


async def large(request: Request) -> Response:
    body = LARGE.encode()
    return Response(body, media_type="application/json",
                    headers={"ETag": entity_tag(body).decode(), "Vary": "Origin"})


async def small(request: Request) -> Response:
    return Response(b'{"sku":"SKU-0001"}', media_type="application/json")


async def image(request: Request) -> Response:
    return Response(b"\x89PNG" + bytes(4096), media_type="image/png")


async def no_transform(request: Request) -> Response:
    return Response(LARGE, media_type="application/json",
                    headers={"Cache-Control": "no-transform"})


async def events(request: Request) -> Response:
    async def stream() -> AsyncIterator[bytes]:
        for i in range(3):
            yield f"data: {'x' * 800} {i}\n\n".encode()

    return StreamingResponse(stream(), media_type="text/event-stream")


async def streamed_json(request: Request) -> Response:
    async def stream() -> AsyncIterator[bytes]:
        for i in range(5):
            yield LARGE.encode() if i == 0 else b" "

    return StreamingResponse(stream(), media_type="application/json")


def _client(config: CompressionConfig | None = None) -> httpx.AsyncClient:
    app = Starlette(routes=[Route(p, e) for p, e in (
        ("/large", large), ("/small", small), ("/image", image), ("/events", events),
        ("/stream", streamed_json), ("/no-transform", no_transform))])
    wrapped = CompressionMiddleware(app, config)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped),
                             base_url="http://gw.test")


async def _raw(client: httpx.AsyncClient, path: str, accept: str | None = "gzip",
               method: str = "GET") -> httpx.Response:
    """The answer as sent, not decoded by httpx."""
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    request = client.build_request(method, path, headers=headers)
    if accept is None:
        del request.headers["accept-encoding"]
    response = await client.send(request, stream=True)
    await response.aread()
    return response


async def test_a_large_json_answer_is_gzipped() -> None:
    async with _client() as client:
        answer = await _raw(client, "/large")
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["vary"] == "Origin, Accept-Encoding"
    assert int(answer.headers["content-length"]) < len(LARGE) / 3
    assert json.loads(answer.content) == json.loads(LARGE)  # httpx decodes gzip


async def test_the_compressed_bytes_are_valid_gzip() -> None:
    async with _client() as client:
        request = client.build_request("GET", "/large", headers={"Accept-Encoding": "gzip"})
        response = await client.send(request, stream=True)
        compressed = b"".join([chunk async for chunk in response.aiter_raw()])
    assert gzip.decompress(compressed) == LARGE.encode()
    assert len(compressed) == int(response.headers["content-length"])


async def test_a_compressed_answer_carries_a_weak_etag_that_still_matches() -> None:
    strong = entity_tag(LARGE.encode())
    async with _client() as client:
        answer = await _raw(client, "/large")
    assert answer.headers["etag"].encode() == weaken(strong)
    assert none_match([answer.headers["etag"].encode()], strong)


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br", "gzip;q=0, *",
                                    "gzip;q=abc", "gzip;q=2"])
async def test_clients_that_do_not_accept_gzip_get_identity(accept: str | None) -> None:
    async with _client() as client:
        answer = await _raw(client, "/large", accept)
    assert "content-encoding" not in answer.headers
    assert answer.content == LARGE.encode()


@pytest.mark.parametrize("accept", ["gzip", "GZIP", "br, gzip;q=0.5", "*", "x-gzip",
                                    "deflate, gzip ; q=1.0"])
def test_accept_encoding_forms_that_admit_gzip(accept: str) -> None:
    assert accepts_gzip([accept.encode()])


async def test_small_answers_are_not_compressed() -> None:
    async with _client() as client:
        answer = await _raw(client, "/small")
    assert "content-encoding" not in answer.headers
    assert "vary" not in answer.headers
    assert answer.content == b'{"sku":"SKU-0001"}'


async def test_the_minimum_size_is_configurable() -> None:
    async with _client(CompressionConfig(minimum_bytes=0)) as client:
        answer = await _raw(client, "/small")
    assert answer.headers["content-encoding"] == "gzip"


async def test_event_streams_images_and_no_transform_go_as_they_are() -> None:
    async with _client(CompressionConfig(minimum_bytes=0)) as client:
        stream = await _raw(client, "/events")
        png = await _raw(client, "/image")
        kept = await _raw(client, "/no-transform")
    assert "content-encoding" not in stream.headers
    assert stream.content.count(b"data: ") == 3
    assert "content-encoding" not in png.headers
    assert "content-encoding" not in kept.headers


async def test_a_streamed_json_answer_is_compressed_without_a_length() -> None:
    async with _client() as client:
        answer = await _raw(client, "/stream")
    assert answer.headers["content-encoding"] == "gzip"
    assert "content-length" not in answer.headers
    assert json.loads(answer.content) == json.loads(LARGE)


async def test_head_and_disabled_are_left_alone() -> None:
    async with _client() as client:
        head = await _raw(client, "/large", method="HEAD")
    async with _client(CompressionConfig(enabled=False)) as client:
        off = await _raw(client, "/large")
    assert "content-encoding" not in head.headers
    assert "content-encoding" not in off.headers


def test_entity_tags_are_strong_and_change_with_the_bytes() -> None:
    a, b = entity_tag(b"one"), entity_tag(b"two")
    assert a.startswith(b'"') and a.endswith(b'"') and a != b
    assert entity_tag(b"one") == a


@pytest.mark.parametrize(("header", "matches"), [
    ('"abc"', True),
    ('W/"abc"', True),  # weak comparison
    ('"x", "abc"', True),
    ('"x",W/"abc"', True),
    ("*", True),
    ('"abcd"', False),
    ('"ab"', False),
    ("abc", False),  # unquoted: malformed
    ('"abc', False),
    ('"x" "abc"', True),  # lenient on a missing comma between two well-formed tags
    ('"x"junk, "abc"', False),
    ('w/"abc"', False),  # the weak prefix is case-sensitive
    ("", False),
])
def test_if_none_match_parsing(header: str, matches: bool) -> None:
    assert none_match([header.encode()], b'"abc"') is matches
    assert none_match([header.encode()], b'W/"abc"') is matches


async def test_an_answer_with_a_strong_etag_is_compressed_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from policies import compression

    made: list[int] = []
    real = compression._compressor

    def counting(level: int) -> Any:
        made.append(level)
        return real(level)

    monkeypatch.setattr(compression, "_compressor", counting)
    compression._BY_ETAG.clear()
    async with _client() as client:
        first = await _raw(client, "/large")
        second = await _raw(client, "/large")
        streamed = [await _raw(client, "/stream") for _ in range(2)]
    assert first.content == second.content == LARGE.encode()
    assert all(s.content for s in streamed)
    assert made == [6, 6, 6]  # the tagged answer once, the untagged stream each time
