"""Redis coming back is noticed without traffic; the heartbeat's own rules on fakes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.observability.heartbeat import Heartbeat
from gateway.settings import RedisSettings, Settings
from tests.support.app import ADMIN, STOREFRONT, gateway
from tests.support.metrics import value


async def _until(condition, within: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, f"{what} not within {within} s"
        await asyncio.sleep(0.05)


@pytest.mark.redis
async def test_every_component_notices_redis_back_without_traffic(redis_server, redis_url,
                                                                  caplog):
    demo = Settings.embedded_demo()
    settings = demo.model_copy(update={"redis": RedisSettings(url=redis_url)})
    caplog.set_level(logging.INFO, logger="gateway.redis")
    async with gateway(settings) as (app, client):
        services = app.state.services
        redis_server.stop()
        try:
            # one request while Redis is gone puts the cache and the limiter on their fallbacks
            answer = await client.get("/v1/inventory/SKU-0007", headers=STOREFRONT)
            assert answer.status_code == 200
            await _until(lambda: services.cache.degraded and services.limiter.degraded, 10,
                         "degraded")
        finally:
            redis_server.restart()
        # no request from here on: the heartbeat alone brings them back
        await _until(lambda: not services.cache.degraded and not services.limiter.degraded,
                     15, "Redis noticed back")
        assert services.ops.heartbeat.probes >= 1

        def said_back() -> bool:
            return any(r.__dict__.get("event") == "redis_back" for r in caplog.records)
        await _until(said_back, 5, "Redis back logged")
        ready = await client.get("/readyz")
        text = (await client.get("/metrics", headers=ADMIN)).text
    assert ready.json()["status"] == "ready", ready.json()
    events = [r.__dict__.get("event") for r in caplog.records if r.name == "gateway.redis"]
    assert "redis_lost" in events and "redis_back" in events
    assert value(text, "gateway_redis_reconnects_total", component="ratelimit") == 1
    assert value(text, "gateway_redis_degraded", component="ratelimit") == 0


async def test_the_heartbeat_pings_only_while_degraded_and_says_each_transition_once(caplog):
    down = {"cache": False}
    pings: list[int] = []
    recovered: list[int] = []
    ticks: list[int] = []

    async def ping() -> None:
        pings.append(1)
        if len(pings) < 3:
            raise ConnectionError("still down")

    async def back() -> None:
        recovered.append(1)
        down["cache"] = False

    beat = Heartbeat(degraded=lambda: dict(down), ping=ping, recovered=back,
                     tick=lambda: ticks.append(1))
    caplog.set_level(logging.INFO, logger="gateway.redis")
    await beat.beat()
    assert pings == [] and len(ticks) == 1  # healthy: no probe, metrics still fed
    down["cache"] = True
    for _ in range(3):
        await beat.beat()
    assert len(pings) == 3 and recovered == [1]
    await beat.beat()
    assert len(pings) == 3  # healthy again
    events = [r.__dict__["event"] for r in caplog.records if hasattr(r, "event")]
    assert events == ["redis_lost", "redis_back"]
