"""PolicyChain: gates in order, one send wrapper, request ids, observation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from policies.chain import Headers, PolicyChain
from policies.problems import Forbidden, TooManyRequests
from policies.request_id import request_id_var


class Recorder:
    """A gate that records its call, reads what earlier gates left, and adds one header."""

    def __init__(self, name: str, calls: list[str], refuse: Exception | None = None) -> None:
        self.name, self.calls, self.refuse = name, calls, refuse

    async def __call__(self, scope: Scope, state: dict[str, Any]) -> Headers:
        self.calls.append(self.name)
        state.setdefault("seen", []).append(self.name)
        if self.refuse is not None:
            raise self.refuse
        return ((b"x-gate", self.name.encode()),)


def echo_app(sink: dict[str, Any]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        sink["state"] = dict(scope["state"])
        sink["request_id_var"] = request_id_var.get()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_gates_run_in_order_share_state_and_add_their_headers() -> None:
    calls: list[str] = []
    sink: dict[str, Any] = {}
    chain = PolicyChain(echo_app(sink), [Recorder("a", calls), Recorder("b", calls)])
    async with client(chain) as c:
        response = await c.get("/x")
    assert response.status_code == 200 and response.text == "ok"
    assert calls == ["a", "b"]
    assert sink["state"]["seen"] == ["a", "b"]
    assert response.headers.get_list("x-gate") == ["a", "b"]
    assert response.headers["content-type"] == "text/plain"
    assert "x-request-id" not in response.headers  # ids are opt-in


async def test_a_refusal_stops_the_chain_and_keeps_earlier_headers() -> None:
    calls: list[str] = []
    sink: dict[str, Any] = {}
    chain = PolicyChain(echo_app(sink), [
        Recorder("a", calls),
        Recorder("b", calls, refuse=TooManyRequests("slow down", retry_after=7)),
        Recorder("c", calls),
    ], request_ids=True)
    async with client(chain) as c:
        response = await c.get("/x", headers={"X-Request-ID": "corr-1"})
    assert calls == ["a", "b"]
    assert sink == {}  # the app never ran
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "slow down"
    assert response.headers["retry-after"] == "7"
    assert response.headers.get_list("x-gate") == ["a"]
    assert response.headers.get_list("x-request-id") == ["corr-1"]


async def test_request_ids_are_kept_when_well_formed_replaced_otherwise() -> None:
    sink: dict[str, Any] = {}
    chain = PolicyChain(echo_app(sink), request_ids=True)
    async with client(chain) as c:
        kept = await c.get("/x", headers={"X-Request-ID": "abc-123.x:y"})
        assert sink["state"]["request_id"] == sink["request_id_var"] == "abc-123.x:y"
        replaced = await c.get("/x", headers={"X-Request-ID": "two words"})
        made = [(await c.get("/x")).headers["x-request-id"] for _ in range(50)]
    assert kept.headers["x-request-id"] == "abc-123.x:y"
    assert replaced.headers["x-request-id"] != "two words"
    assert len(replaced.headers["x-request-id"]) == 32
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in made)
    assert len(set(made)) == 50
    assert request_id_var.get() is None  # reset once the request is over


async def test_an_error_answer_carries_one_request_id_the_chains() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # what the gateway's problem handlers do: they also run outside any chain
        await Forbidden("no", headers={"X-Request-ID": "from-handler"})(scope, receive, send)

    async with client(PolicyChain(app, request_ids=True)) as c:
        response = await c.get("/x", headers={"X-Request-ID": "corr-2"})
    assert response.status_code == 403
    assert response.headers.get_list("x-request-id") == ["corr-2"]


async def test_the_observer_sees_every_outcome_including_a_crash() -> None:
    seen: list[tuple[str, int]] = []

    def observe(scope: Scope, status: int, seconds: float) -> None:
        assert seconds >= 0
        seen.append((scope["path"], status))

    async def crash(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    ok = PolicyChain(echo_app({}), observe=observe)
    refused = PolicyChain(echo_app({}), [Recorder("r", [], refuse=Forbidden("no"))],
                          observe=observe)
    crashing = PolicyChain(crash, observe=observe)
    async with client(ok) as c:
        await c.get("/ok")
    async with client(refused) as c:
        await c.get("/refused")
    async with client(crashing) as c:
        with pytest.raises(RuntimeError, match="boom"):
            await c.get("/crash")
    assert seen == [("/ok", 200), ("/refused", 403), ("/crash", 500)]


async def test_websockets_are_refused_before_accept_and_lifespan_passes_through() -> None:
    calls: list[str] = []
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["type"])

    chain = PolicyChain(app, [Recorder("deny", calls, refuse=Forbidden("no"))])
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await chain({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    await chain({"type": "lifespan"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert calls == ["deny"]  # the lifespan scope ran no gate
    assert reached == ["lifespan"]
