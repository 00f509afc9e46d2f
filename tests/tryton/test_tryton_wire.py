"""The Tryton connector's wire behaviour without a trytond: codec, config, errors, headers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pydantic
import pytest
import respx

from gateway.context import request_id_var
from gateway.erp.base import (
    ErpBadResponse,
    ErpTimeout,
    ErpUnavailable,
    PriceItem,
    UnknownCustomer,
)
from gateway.erp.tryton import (
    TrytonConfig,
    TrytonConnector,
    decode_object,
    decode_response,
    encode_request,
    encode_value,
)
from tests.support.redis_server import free_port

pytestmark = pytest.mark.tryton

BASE = "http://tryton.test:8000"
RPC = f"{BASE}/shop/rpc/"
SECRET = "s3cret-Pa55word"

Handler = Callable[[str, list[Any], httpx.Request], httpx.Response | None]


def _config(**overrides: Any) -> TrytonConfig:
    values: dict[str, Any] = {
        "url": BASE, "database": "shop", "username": "gateway", "password": SECRET,
    }
    return TrytonConfig(**(values | overrides))


def _result(value: Any) -> httpx.Response:
    body = json.dumps({"id": 1, "result": value}, default=encode_value).encode()
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


class FakeTryton:
    """Answers the calls the connector makes; ``override`` can replace any answer."""

    def __init__(self, override: Handler | None = None) -> None:
        self.override = override
        self.calls: list[tuple[str, httpx.Request]] = []
        self.sessions = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content, object_hook=decode_object)
        method, params = body["method"], body["params"]
        self.calls.append((method, request))
        if self.override is not None:
            answer = self.override(method, params, request)
            if answer is not None:
                return answer
        match method:
            case "common.db.login":
                self.sessions += 1
                return _result([7, f"token-{self.sessions}", None])
            case "model.res.user.get_preferences":
                return _result({"company": 1, "companies": [1], "locale": {"date": "%d"}})
            case "model.stock.location.search_read":
                return _result([{"id": 5, "code": "WH"}])
            case "model.company.company.read":
                return _result([{"id": 1, "currency": 2}])
            case "model.currency.currency.search_read":
                return _result([{"id": 2, "code": "EUR"}, {"id": 3, "code": "USD"}])
            case "model.sale.configuration.read":
                return _result([{"id": 1, "sale_price_list.": None}])
            case "model.stock.move.search_read":
                return _result([])
            case "model.stock.location.search_count":
                return _result(1)
            case "model.party.party.search_read":
                return _result([{"id": 3, "code": "C1", "sale_price_list.": None,
                                 "customer_currency": None}])
            case "model.product.product.search_read":
                return _result([{
                    "id": 9, "code": "SKU-1", "quantity": 4.0, "forecast_quantity": 4.0,
                    "sale_price_uom": Decimal("12.3400"), "list_price_used": Decimal("15.0000"),
                    "account_category": None, "sale_uom.": {"id": 1, "symbol": "u",
                                                             "factor": 1.0},
                    "default_uom.": {"id": 1, "symbol": "u", "factor": 1.0},
                }])
        return httpx.Response(500)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]


@pytest.fixture
def tryton() -> Iterator[tuple[respx.MockRouter, FakeTryton]]:
    fake = FakeTryton()
    with respx.mock(assert_all_called=True) as router:
        router.post(RPC).mock(side_effect=fake)
        yield router, fake


# -- codec -------------------------------------------------------------------------------


def test_codec_round_trips_decimal_date_and_datetime() -> None:
    values = [Decimal("12.3400"), dt.date(2025, 2, 28), dt.datetime(2025, 2, 28, 13, 5, 7, 9)]
    body = encode_request(4, "model.x.y", values)

    sent = json.loads(body)
    assert sent["params"][0] == {"__class__": "Decimal", "decimal": "12.3400"}
    assert sent["params"][1] == {"__class__": "date", "year": 2025, "month": 2, "day": 28}
    answer = json.dumps({"id": 4, "result": sent["params"]}).encode()
    assert decode_response(answer, "model.x.y") == values


def test_codec_leaves_plain_objects_alone_and_refuses_unknown_types() -> None:
    assert decode_object({"id": 1, "name": "x"}) == {"id": 1, "name": "x"}
    with pytest.raises(TypeError):
        encode_value(object())


def test_rpc_fault_and_garbage_are_bad_responses() -> None:
    fault = json.dumps({"id": 1, "error": ["'nofield'", "Traceback …"]}).encode()
    with pytest.raises(ErpBadResponse, match="model.x.read failed: 'nofield'"):
        decode_response(fault, "model.x.read")
    with pytest.raises(ErpBadResponse):
        decode_response(b"<html>", "model.x.read")
    with pytest.raises(ErpBadResponse):
        decode_response(b'{"id": 1, "result": {"__class__": "Decimal"}}', "model.x.read")


# -- config ------------------------------------------------------------------------------


def test_config_normalises_url_and_hides_password() -> None:
    config = _config(url="http://tryton.test:8000/")

    assert config.rpc_url == RPC
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"url": "ftp://tryton.test"}, "url"),
        ({"url": "http://user:pw@tryton.test"}, "url"),
        ({"database": " "}, "database"),
        ({"password": ""}, "password"),
        ({"warehouses": ["WH", "WH"]}, "warehouses"),
        ({"warehouses": []}, "warehouses"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"total_timeout": 1.0, "connect_timeout": 2.0}, "total_timeout"),
        ({"verify": False}, "verify"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=field):
        _config(**overrides)


# -- headers, sessions, errors (respx) ------------------------------------------------------


async def test_request_id_is_forwarded_on_every_call_including_login(
    tryton: tuple[respx.MockRouter, FakeTryton],
) -> None:
    router, fake = tryton
    connector = TrytonConnector(_config())
    token = request_id_var.set("req-42")
    try:
        await connector.health()
    finally:
        request_id_var.reset(token)
        await connector.aclose()

    assert router.calls.call_count == len(fake.calls) >= 3
    assert fake.methods()[0] == "common.db.login"
    assert {request.headers.get("X-Request-ID") for _, request in fake.calls} == {"req-42"}


async def test_calls_carry_the_session_and_the_user_context(
    tryton: tuple[respx.MockRouter, FakeTryton],
) -> None:
    router, fake = tryton
    connector = TrytonConnector(_config())
    try:
        quotes = await connector.prices("C1", [PriceItem("SKU-1", Decimal(3))])
    finally:
        await connector.aclose()

    assert router.calls.called
    assert quotes["SKU-1"].unit_price == Decimal("12.3400")
    assert (quotes["SKU-1"].currency, quotes["SKU-1"].price_list) == ("EUR", None)
    method, request = fake.calls[-1]
    assert method == "model.product.product.search_read"
    assert request.headers["Authorization"].startswith("Session ")
    context = json.loads(request.content)["params"][-1]
    assert context["company"] == 1 and context["quantity"] == 3.0 and "locale" not in context


async def test_a_rejected_session_logs_in_again_once() -> None:
    rejected: set[str] = set()

    def expire_first_session(method: str, params: list[Any], request: httpx.Request) -> Any:
        auth = request.headers.get("Authorization")
        if method == "model.stock.location.search_count" and not rejected:
            rejected.add(auth)
        if auth in rejected:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="Tryton"'})
        return None

    fake = FakeTryton(expire_first_session)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(RPC).mock(side_effect=fake)
        connector = TrytonConnector(_config())
        try:
            await connector.health()
        finally:
            await connector.aclose()

    assert route.called
    assert fake.methods().count("common.db.login") == 2
    assert fake.methods()[-1] == "model.stock.location.search_count"


async def test_a_session_rejected_twice_is_unavailable() -> None:
    def always_reject(method: str, params: list[Any], request: httpx.Request) -> Any:
        if method == "model.stock.location.search_count":
            return httpx.Response(401)
        return None

    fake = FakeTryton(always_reject)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(RPC).mock(side_effect=fake)
        connector = TrytonConnector(_config())
        try:
            with pytest.raises(ErpUnavailable, match="fresh session"):
                await connector.health()
        finally:
            await connector.aclose()

    assert route.called
    assert fake.methods().count("common.db.login") == 2


async def test_refused_login_is_shared_by_waiting_callers_and_hides_the_password() -> None:
    def refuse(method: str, params: list[Any], request: httpx.Request) -> Any:
        return httpx.Response(401) if method == "common.db.login" else None

    fake = FakeTryton(refuse)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(RPC).mock(side_effect=fake)
        connector = TrytonConnector(_config())
        try:
            outcomes = await asyncio.gather(
                *(connector.availability(["SKU-1"]) for _ in range(3)), return_exceptions=True
            )
        finally:
            await connector.aclose()

    assert route.called
    assert fake.methods() == ["common.db.login"]
    assert all(isinstance(outcome, ErpUnavailable) for outcome in outcomes)
    assert all(SECRET not in str(outcome) for outcome in outcomes)


async def test_login_is_tried_again_once_the_backoff_has_passed() -> None:
    def refuse(method: str, params: list[Any], request: httpx.Request) -> Any:
        return httpx.Response(401) if method == "common.db.login" else None

    fake = FakeTryton(refuse)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(RPC).mock(side_effect=fake)
        connector = TrytonConnector(_config(login_backoff=0))
        try:
            for _ in range(2):
                with pytest.raises(ErpUnavailable, match="refused the credentials"):
                    await connector.health()
        finally:
            await connector.aclose()

    assert route.called
    assert fake.methods() == ["common.db.login", "common.db.login"]


async def test_unknown_customer_is_reported(tryton: tuple[respx.MockRouter, FakeTryton]) -> None:
    router, fake = tryton
    fake.override = lambda method, params, request: (
        _result([]) if method == "model.party.party.search_read" else None
    )
    connector = TrytonConnector(_config())
    try:
        with pytest.raises(UnknownCustomer):
            await connector.prices("C-404", [PriceItem("SKU-1", Decimal(1))])
    finally:
        await connector.aclose()
    assert router.calls.called


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(503, headers={"Retry-After": "30"}), ErpUnavailable),
        (httpx.Response(429), ErpUnavailable),
        (httpx.Response(504), ErpTimeout),
        (httpx.Response(500, text="<html>oops</html>"), ErpBadResponse),
        (httpx.Response(403, text="<html>Forbidden</html>"), ErpBadResponse),
        (httpx.Response(200, json={"id": 1, "error": ["UserError", "x"]}), ErpBadResponse),
        (httpx.Response(200, json={"id": 1, "result": "not records"}), ErpBadResponse),
        (httpx.Response(200, text="not json"), ErpBadResponse),
    ],
)
async def test_upstream_failures_map_to_gateway_errors(
    answer: httpx.Response, error: type[Exception]
) -> None:
    def fail_stock(method: str, params: list[Any], request: httpx.Request) -> Any:
        return answer if method == "model.stock.location.search_read" else None

    fake = FakeTryton(fail_stock)
    with respx.mock(assert_all_called=True) as router:
        route = router.post(RPC).mock(side_effect=fake)
        connector = TrytonConnector(_config())
        try:
            with pytest.raises(error) as caught:
                await connector.availability(["SKU-1"])
        finally:
            await connector.aclose()

    assert route.called
    assert type(caught.value) is error
    if answer.status_code == 503:
        assert caught.value.retry_after == 30  # type: ignore[attr-defined]


# -- real sockets on loopback ----------------------------------------------------------------


async def test_connection_refused_is_unavailable() -> None:
    connector = TrytonConnector(_config(url=f"http://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(ErpUnavailable, match="cannot reach Tryton"):
            await connector.health()
    finally:
        await connector.aclose()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listening socket whose connections complete and are never answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


async def test_a_hanging_server_times_out(silent_port: int) -> None:
    connector = TrytonConnector(
        _config(url=f"http://127.0.0.1:{silent_port}", read_timeout=0.2, total_timeout=5)
    )
    try:
        with pytest.raises(ErpTimeout, match="common.db.login"):
            await connector.health()
    finally:
        await connector.aclose()


async def test_the_total_deadline_bounds_a_call(silent_port: int) -> None:
    connector = TrytonConnector(
        _config(
            url=f"http://127.0.0.1:{silent_port}",
            connect_timeout=0.1, read_timeout=5, total_timeout=0.3,
        )
    )
    try:
        with pytest.raises(ErpTimeout, match="longer than 0.3 s"):
            await connector.availability(["SKU-1"])
    finally:
        await connector.aclose()
