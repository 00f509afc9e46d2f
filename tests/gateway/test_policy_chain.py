"""Rate limits and versioning as wired into the gateway."""

from datetime import UTC, datetime, timedelta

import pytest

from gateway.demo import demo_auth as _demo_auth
from gateway.settings import Settings, default_rate_limits
from policies.ratelimit import PlanConfig
from policies.versioning import VersionConfig, VersioningConfig
from tests.support.app import ADMIN, STOREFRONT, gateway


def with_limits(**limits: str) -> Settings:
    config = default_rate_limits()
    plan = PlanConfig(limits={**config.plans["default"].limits, **limits})
    config = config.model_copy(update={"plans": {"default": plan}})
    return Settings.embedded_demo().model_copy(update={"ratelimit": config})


async def test_responses_carry_ratelimit_headers_and_the_limit_answers_429():
    async with gateway(with_limits(inventory="3/minute")) as (_, client):
        answers = [await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
                   for _ in range(5)]
        other_group = await client.get("/v1/prices/SKU-0001?customer=CUST-001",
                                       headers=STOREFRONT)
        other_client = await client.get("/v1/inventory/SKU-0001", headers=ADMIN)
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[0].headers["ratelimit-policy"] == '"inventory";q=3;w=60'
    assert answers[2].headers["ratelimit"].startswith('"inventory";r=0;')
    rejected = answers[3]
    assert rejected.headers["content-type"] == "application/problem+json"
    assert int(rejected.headers["retry-after"]) > 0
    assert other_group.status_code == other_client.status_code == 200


def with_versions(*versions: VersionConfig) -> Settings:
    return Settings.embedded_demo().model_copy(
        update={"versioning": VersioningConfig(versions=list(versions))})


async def test_a_deprecated_version_announces_its_sunset_and_successor():
    sunset = datetime.now(UTC) + timedelta(days=90)
    settings = with_versions(
        VersionConfig(name="v1", status="deprecated",
                      deprecated_at=datetime(2026, 1, 1, tzinfo=UTC),
                      sunset=sunset, successor="/v2"),
        VersionConfig(name="v2"))
    async with gateway(settings) as (_, client):
        old = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        new = await client.get("/v2/inventory/SKU-0001", headers=STOREFRONT)
    assert old.status_code == 200
    assert old.headers["deprecation"] == f"@{int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())}"
    assert old.headers["sunset"].endswith("GMT")
    assert 'rel="successor-version"' in old.headers["link"]
    assert "deprecation" not in new.headers


async def test_a_version_past_its_sunset_answers_410():
    settings = with_versions(
        VersionConfig(name="v1", status="deprecated",
                      deprecated_at=datetime(2025, 1, 1, tzinfo=UTC),
                      sunset=datetime(2026, 1, 1, tzinfo=UTC), successor="/v2"),
        VersionConfig(name="v2"))
    async with gateway(settings) as (_, client):
        gone = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert "/v2" in gone.json()["detail"]


async def test_a_client_restricted_to_v2_cannot_call_v1():
    auth = _demo_auth()
    clients = [c.model_copy(update={"versions": ["v2"]}) if c.id == "demo-storefront" else c
               for c in auth.clients]
    settings = Settings.embedded_demo().model_copy(
        update={"auth": auth.model_copy(update={"clients": clients})})
    async with gateway(settings) as (_, client):
        v1 = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        v2 = await client.get("/v2/inventory/SKU-0001", headers=STOREFRONT)
    assert (v1.status_code, v2.status_code) == (403, 200)


@pytest.mark.redis
async def test_limits_are_shared_by_replicas_on_one_redis(redis_url):
    from gateway.settings import RedisSettings

    settings = with_limits(inventory="10/minute").model_copy(
        update={"redis": RedisSettings(url=redis_url)})
    async with gateway(settings) as (_, a), gateway(settings) as (_, b):
        statuses = [(await (a if i % 2 else b).get("/v1/inventory/SKU-0002",
                                                  headers=STOREFRONT)).status_code
                    for i in range(16)]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 6
