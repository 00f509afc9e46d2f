"""RateLimitMiddleware against a real redis-server, in both modes."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.ratelimit import (
    PlanConfig,
    RateLimitConfig,
    RateLimiter,
    RateLimitMiddleware,
    RouteGroup,
)
from policies.ratelimit.limiter import identity
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.redis

MODES = ["strict", "synced"]


class FakeClock:
    def __init__(self, now: float = 5_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class FakePrincipal:
    key: str
    plan: str
    versions: frozenset[str] = frozenset()


class InjectPrincipal:
    """Stands in for auth: ``x-client`` / ``x-plan`` headers become the principal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            if b"x-client" in headers:
                principal = FakePrincipal(headers[b"x-client"].decode(),
                                          headers.get(b"x-plan", b"basic").decode())
                scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def make_config(mode: str, **overrides: Any) -> RateLimitConfig:
    base: dict[str, Any] = {
        "mode": mode,
        "plans": {
            "basic": PlanConfig(limits={"inventory": "3/minute", "prices": "5/minute"}),
            "gold": PlanConfig(limits={"inventory": "10/minute"}),
        },
        "route_groups": [
            RouteGroup(name="inventory", path_prefixes=["/*/inventory"]),
            RouteGroup(name="prices", path_prefixes=["/v1/prices"], methods=["GET"]),
        ],
        # the background tick stays out of the way; tests call sync() themselves
        "sync_interval_ms": 10_000,
        "redis_probe_interval": 5.0,
    }
    base.update(overrides)
    return RateLimitConfig(**base)


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


def make_app(config: RateLimitConfig, limiter: RateLimiter) -> ASGIApp:
    app = Starlette(routes=[
        Route("/v1/inventory/{sku}", ok, methods=["GET", "POST"]),
        Route("/v1/prices", ok, methods=["GET", "POST"]),
        Route("/healthz", ok),
    ])
    return InjectPrincipal(RateLimitMiddleware(app, config, limiter=limiter))


Factory = Callable[..., tuple[httpx.AsyncClient, RateLimiter]]


@pytest.fixture
async def make(redis_url: str) -> AsyncIterator[Factory]:
    """Build (client, limiter) pairs on the session Redis; all closed at teardown."""
    made: list[tuple[httpx.AsyncClient, RateLimiter]] = []

    def factory(config: RateLimitConfig, clock: FakeClock | None = None
                ) -> tuple[httpx.AsyncClient, RateLimiter]:
        limiter = RateLimiter.from_url(config, redis_url, clock=clock or FakeClock())
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=make_app(config, limiter)), base_url="http://gw"
        )
        made.append((client, limiter))
        return client, limiter

    yield factory
    for client, limiter in made:
        await client.aclose()
        await limiter.aclose()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def field(response: httpx.Response, name: str) -> dict[str, str]:
    """Parse one ``"name";k=v;k=v`` structured-field item into {"name": ..., k: v}."""
    name_part, *params = response.headers[name].split(";")
    return {"name": name_part.strip('"'), **dict(p.split("=", 1) for p in params)}


async def shared_count(client: aioredis.Redis, limit: str, ident: str, prefix: str = "gw-rl"
                       ) -> int:
    key = parse(limit).key_for(ident)
    raw = await client.get(f"{prefix}:{{{key}}}")
    return int(raw or 0)


def gets(client: httpx.AsyncClient, n: int, path: str = "/v1/inventory/sku-1",
         who: str = "acme", plan: str = "basic") -> list[Any]:
    headers = {"x-client": who, "x-plan": plan}
    return [client.get(path, headers=headers) for _ in range(n)]


async def run_all(coros: list[Any]) -> list[httpx.Response]:
    return [await c for c in coros]


@pytest.mark.parametrize("mode", MODES)
async def test_limited_responses_carry_ratelimit_fields(make: Factory, mode: str) -> None:
    client, _ = make(make_config(mode))
    first, second = await run_all(gets(client, 2))
    assert first.status_code == second.status_code == 200
    assert first.headers["ratelimit-policy"] == '"inventory";q=3;w=60'
    assert field(first, "ratelimit") == {"name": "inventory", "r": "2", "t": "60"}
    assert field(second, "ratelimit")["r"] == "1"
    assert "retry-after" not in first.headers


@pytest.mark.parametrize("mode", MODES)
async def test_exhausted_quota_is_a_429_problem_with_retry_after(make: Factory, mode: str
                                                                 ) -> None:
    client, _ = make(make_config(mode))
    *admitted, rejected = await run_all(gets(client, 4))
    assert [r.status_code for r in admitted] == [200, 200, 200]
    assert rejected.status_code == 429
    assert rejected.headers["content-type"] == "application/problem+json"
    body = rejected.json()
    assert body["type"].endswith("/rate-limited")
    assert body["policy"] == "inventory"
    retry_after = int(rejected.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert rejected.headers["ratelimit-policy"] == '"inventory";q=3;w=60'
    assert field(rejected, "ratelimit") == {"name": "inventory", "r": "0", "t": str(retry_after)}


@pytest.mark.parametrize("mode", MODES)
async def test_rejected_requests_do_not_consume_quota(
    make: Factory, redis_client: aioredis.Redis, mode: str
) -> None:
    clock = FakeClock()
    client, limiter = make(make_config(mode), clock)
    statuses = [r.status_code for r in await run_all(gets(client, 13))]
    assert statuses.count(200) == 3 and statuses.count(429) == 10
    clock.now += 30  # past the local "spent" cache, so synced mode asks Redis again
    assert [r.status_code for r in await run_all(gets(client, 2))] == [429, 429]
    ident = identity("acme", "inventory", "GET")
    assert await shared_count(redis_client, "3/minute", ident) == 3

    # let Redis' clock run 90 s: the current window rolls and then weighs half
    current_key = f"gw-rl:{{{parse('3/minute').key_for(ident)}}}"
    await redis_client.pexpire(current_key, 30_000)
    clock.now += 90
    statuses = [r.status_code for r in await run_all(gets(client, 4))]
    # floor(3 x 0.5) = 1 used -> 2 admitted; had the 12 rejections counted: floor(7.5) = 7
    assert statuses == [200, 200, 429, 429]


@pytest.mark.parametrize("mode", MODES)
async def test_limits_are_per_client_group_and_method(make: Factory, mode: str) -> None:
    client, _ = make(make_config(mode))
    assert (await run_all(gets(client, 4)))[-1].status_code == 429
    other_client = await client.get("/v1/inventory/sku-1", headers={"x-client": "globex"})
    other_group = await client.get("/v1/prices", headers={"x-client": "acme"})
    other_method = await client.post("/v1/inventory/sku-1", headers={"x-client": "acme"})
    gold = await client.get("/v1/inventory/sku-1", headers={"x-client": "acme", "x-plan": "gold"})
    assert other_client.status_code == 200
    assert field(other_client, "ratelimit")["r"] == "2"
    assert other_group.status_code == 200
    assert other_group.headers["ratelimit-policy"] == '"prices";q=5;w=60'
    assert other_method.status_code == 200
    assert gold.status_code == 200  # another plan is another limit, hence another key
    assert gold.headers["ratelimit-policy"] == '"inventory";q=10;w=60'


async def test_requests_outside_limits_pass_untouched(make: Factory) -> None:
    client, _ = make(make_config("synced"))
    anonymous = await client.get("/v1/inventory/sku-1")
    ungrouped = await client.get("/healthz", headers={"x-client": "acme"})
    method_not_in_group = await client.post("/v1/prices", headers={"x-client": "acme"})
    unlimited_group = await client.get("/v1/prices",
                                       headers={"x-client": "acme", "x-plan": "gold"})
    unknown_plan = await client.get("/v1/prices", headers={"x-client": "acme", "x-plan": "nope"})
    for response in (anonymous, ungrouped, method_not_in_group, unlimited_group, unknown_plan):
        assert response.status_code == 200
        assert "ratelimit" not in response.headers
        assert "ratelimit-policy" not in response.headers


async def test_unknown_plan_uses_the_default_plan(make: Factory) -> None:
    client, _ = make(make_config("synced", default_plan="basic"))
    response = await client.get("/v1/inventory/a", headers={"x-client": "acme", "x-plan": "nope"})
    assert response.headers["ratelimit-policy"] == '"inventory";q=3;w=60'


@pytest.mark.parametrize("mode", MODES)
async def test_two_replicas_on_one_redis_enforce_one_limit(
    make: Factory, redis_client: aioredis.Redis, mode: str
) -> None:
    config = make_config(mode)
    a, limiter_a = make(config)
    b, limiter_b = make(config)
    sequential = [await (a if i % 2 else b).get("/v1/inventory/x", headers={
        "x-client": "acme", "x-plan": "gold"}) for i in range(16)]
    assert [r.status_code for r in sequential].count(200) == 10
    burst = await asyncio.gather(*gets(a, 15, who="initech", plan="gold"),
                                 *gets(b, 15, who="initech", plan="gold"))
    assert [r.status_code for r in burst].count(200) == 10
    assert {r.status_code for r in burst} == {200, 429}
    for limiter in (limiter_a, limiter_b):
        await limiter.sync()
    for who in ("acme", "initech"):
        ident = identity(who, "inventory", "GET")
        assert await shared_count(redis_client, "10/minute", ident) == 10


@pytest.mark.parametrize("mode", MODES)
async def test_redis_down_enforces_the_local_share_then_returns_to_redis(
    make: Factory, redis_server: RedisServer, redis_client: aioredis.Redis, mode: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    config = make_config(mode, replicas=2)  # gold: 10/minute -> 5 per replica while degraded
    client, limiter = make(config, clock)
    gold = {"x-client": "acme", "x-plan": "gold"}
    assert (await client.get("/v1/inventory/a", headers=gold)).status_code == 200
    pings = 0
    real_ping = limiter.counters.ping

    async def counting_ping() -> bool:
        nonlocal pings
        pings += 1
        return await real_ping()

    limiter.counters.ping = counting_ping  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="policies.ratelimit")
    redis_server.stop()
    try:
        during = [await client.get("/v1/inventory/a", headers=gold) for _ in range(8)]
        assert [r.status_code for r in during] == [200] * 5 + [429] * 3
        assert int(during[-1].headers["retry-after"]) >= 1
        assert limiter.degraded
        await limiter.settle()
        assert pings == 0  # no probe before the interval, however many requests
        downs = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
        assert len(downs) == 1

        clock.now += 5  # probe interval: one request schedules one probe; Redis still down
        await client.get("/v1/inventory/a", headers=gold)
        await client.get("/v1/inventory/a", headers=gold)
        await limiter.settle()
        assert pings >= 1 and limiter.degraded
        probes_so_far = pings
    finally:
        redis_server.restart()

    await client.get("/v1/inventory/a", headers=gold)
    await limiter.settle()
    assert pings == probes_so_far and limiter.degraded  # not yet: the interval again
    clock.now += 5
    await client.get("/v1/inventory/a", headers=gold)
    await limiter.settle()
    assert not limiter.degraded
    ups = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(ups) == 1

    back = await client.get("/v1/inventory/a", headers=gold)
    assert back.status_code == 200
    assert field(back, "ratelimit")["r"] == "9"  # the restarted Redis counts from zero
    ident = identity("acme", "inventory", "GET")
    await limiter.sync()
    assert await shared_count(redis_client, "10/minute", ident) >= 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_paused_redis_times_out_into_degraded_mode_without_5xx(
    make: Factory, redis_server: RedisServer, mode: str
) -> None:
    client, limiter = make(make_config(mode))
    assert (await client.get("/v1/prices", headers={"x-client": "acme"})).status_code == 200
    os.kill(redis_server.process.pid, signal.SIGSTOP)
    try:
        during = await asyncio.gather(*gets(client, 3, path="/v1/prices"))
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    assert all(r.status_code in (200, 429) for r in during)
    assert limiter.degraded


async def test_synced_mode_serves_most_requests_without_a_redis_round_trip(
    make: Factory, redis_client: aioredis.Redis
) -> None:
    clock = FakeClock()
    config = make_config("synced", plans={"big": PlanConfig(limits={"inventory": "6000/minute"})},
                         sync_interval_ms=100)
    client, limiter = make(config, clock)
    reservations = 0
    real_reserve = limiter.counters.reserve

    async def counting_reserve(*args: Any) -> Any:
        nonlocal reservations
        reservations += 1
        return await real_reserve(*args)

    limiter.counters.reserve = counting_reserve  # type: ignore[method-assign]
    headers = {"x-client": "acme", "x-plan": "big"}
    statuses = []
    for _ in range(400):  # 1,000 requests per second on the fake clock
        clock.now += 0.001
        statuses.append((await client.get("/v1/inventory/a", headers=headers)).status_code)
        await asyncio.sleep(0)  # let a background reservation run, as a busy loop would
    assert statuses == [200] * 400
    assert reservations < 40

    await limiter.settle()
    await limiter.sync()  # closes the busy tick
    clock.now += 1
    await limiter.sync()  # a whole tick without requests: unused allowance goes back to Redis
    ident = identity("acme", "inventory", "GET")
    assert await shared_count(redis_client, "6000/minute", ident) == 400


async def test_strict_and_synced_count_on_the_keys_limits_reads(
    make: Factory, redis_url: str
) -> None:
    strict, _ = make(make_config("strict"))
    synced, _ = make(make_config("synced"))
    responses = [await (strict if i % 2 else synced).get("/v1/prices", headers={
        "x-client": "acme"}) for i in range(8)]
    assert [r.status_code for r in responses].count(200) == 5

    storage = RedisStorage("async+" + redis_url, implementation="redispy", key_prefix="gw-rl")
    stats = await SlidingWindowCounterRateLimiter(storage).get_window_stats(
        parse("5/minute"), identity("acme", "prices", "GET")
    )
    assert stats.remaining == 0
    await storage.bridge.get_connection().aclose()  # type: ignore[attr-defined]


async def test_middleware_built_from_a_url_closes_its_limiter_at_shutdown(
    redis_url: str,
) -> None:
    middleware = RateLimitMiddleware(Starlette(), make_config("synced"), redis_url)
    closed: list[bool] = []

    async def spy_close() -> None:
        closed.append(True)

    real_close = middleware.limiter.aclose
    middleware.limiter.aclose = spy_close  # type: ignore[method-assign]
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return inbox.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                     receive, send)
    assert closed == [True]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete",
                                        "lifespan.shutdown.complete"]
    assert middleware.degraded is False
    await real_close()


async def burst(client: httpx.AsyncClient, clock: FakeClock, n: int, headers: dict[str, str]
                ) -> list[int]:
    statuses = []
    for _ in range(n):
        clock.now += 0.001
        statuses.append((await client.get("/v1/inventory/a", headers=headers)).status_code)
        await asyncio.sleep(0)
    return statuses


async def test_allowance_outlived_by_its_window_goes_back_to_the_previous_bucket(
    make: Factory, redis_client: aioredis.Redis
) -> None:
    clock = FakeClock()
    config = make_config("synced", plans={"big": PlanConfig(limits={"inventory": "600/minute"})},
                         sync_interval_ms=100)
    client, limiter = make(config, clock)
    headers = {"x-client": "acme", "x-plan": "big"}
    assert await burst(client, clock, 50, headers) == [200] * 50
    await limiter.settle()
    key = parse("600/minute").key_for(identity("acme", "inventory", "GET"))
    current, previous = f"gw-rl:{{{key}}}", f"gw-rl:{{{key}}}/-1"
    held = int(await redis_client.get(current) or 0) - 50
    assert held > 0  # a busy key holds some allowance ahead of need

    # 61 s pass, on both clocks: the window the allowance was counted in is over
    clock.now += 61
    await redis_client.pexpire(current, 59_000)
    assert (await client.get("/v1/inventory/a", headers=headers)).status_code == 200
    await limiter.settle()
    await limiter.sync()
    assert int(await redis_client.get(previous) or 0) == 50  # only what was admitted


async def test_closing_the_limiter_hands_unused_allowance_back(
    make: Factory, redis_client: aioredis.Redis
) -> None:
    clock = FakeClock()
    config = make_config("synced", plans={"big": PlanConfig(limits={"inventory": "600/minute"})},
                         sync_interval_ms=100)
    client, limiter = make(config, clock)
    assert await burst(client, clock, 40, {"x-client": "acme", "x-plan": "big"}) == [200] * 40
    await limiter.aclose()
    assert await shared_count(redis_client, "600/minute",
                              identity("acme", "inventory", "GET")) == 40
