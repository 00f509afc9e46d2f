"""A flood of wrong client secrets: throttled before scrypt, never ahead of other clients."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from policies.auth import AuthConfig, ClientConfig, build_auth, hash_api_key, hash_secret
from policies.auth import hashing as hashing_module
from policies.auth.config import SigningKeyConfig, TokenAttemptsConfig, TokenConfig
from policies.auth.keys import generate_ed25519_pem
from policies.problems import PROBLEM_JSON
from tests.policies.auth.conftest import make_app

# cheap scrypt keeps the floods quick; the dummy hash follows the clients' parameters
N = 2**12
ATTACKER = ("203.0.113.7", 40000)
BYSTANDER = ("198.51.100.2", 40001)


@pytest.fixture(scope="module")
def config() -> AuthConfig:
    clients = [
        ClientConfig(id="shop", secret_hash=hash_secret("shop-secret", n=N),
                     scopes=["inventory:read"]),
        ClientConfig(id="wms", secret_hash=hash_secret("wms-secret", n=N),
                     scopes=["labels:write"]),
        # the production cost (~0.1 s), for the event-loop test
        ClientConfig(id="slow", secret_hash=hash_secret("slow-secret"),
                     scopes=["inventory:read"]),
        # an API key only: no secret to check, yet the same cost as one
        ClientConfig(id="keys-only", api_key_hashes=[hash_api_key("k" * 40)],
                     scopes=["inventory:read"]),
    ]
    return AuthConfig(
        clients=clients,
        token=TokenConfig(issuer="https://gateway.test", audience="gw", require_https=False),
        signing_keys=[SigningKeyConfig(kid="k1", algorithm="Ed25519",
                                       private_key_pem=SecretStr(generate_ed25519_pem()))],
        token_attempts=TokenAttemptsConfig(per_client="10/minute", per_address="30/minute"))


class ScryptLog:
    """Every scrypt the gateway runs, in order: (secret, n, r, p, length); and the most
    wrong-secret checks ever running at once."""

    def __init__(self, real: Callable[..., bytes]) -> None:
        self.calls: list[tuple[str, int, int, int, int]] = []
        self._real = real
        self._lock = threading.Lock()
        self.started = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._running_wrong = 0
        self.most_wrong_at_once = 0

    def __call__(self, secret: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
        wrong = secret.startswith(("wrong-", "x"))
        with self._lock:
            self.calls.append((secret, n, r, p, length))
            if wrong:
                self._running_wrong += 1
                self.most_wrong_at_once = max(self.most_wrong_at_once, self._running_wrong)
        self._loop.call_soon_threadsafe(self.started.set)
        try:
            return self._real(secret, salt, n, r, p, length)
        finally:
            if wrong:
                with self._lock:
                    self._running_wrong -= 1

    def secrets(self) -> list[str]:
        return [call[0] for call in self.calls]


@pytest.fixture
async def scrypt(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScryptLog]:
    log = ScryptLog(hashing_module._scrypt)
    monkeypatch.setattr(hashing_module, "_scrypt", log)
    yield log


def _client(app: Any, address: tuple[str, int]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=address),
                             base_url="http://gateway.test")


async def _token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(client_id, secret))


async def _flood(http: httpx.AsyncClient, attempts: list[tuple[str, str]],
                 concurrency: int = 64) -> list[httpx.Response]:
    gate = asyncio.Semaphore(concurrency)

    async def one(client_id: str, secret: str) -> httpx.Response:
        async with gate:
            return await _token(http, client_id, secret)

    return await asyncio.gather(*(one(c, s) for c, s in attempts))


def _assert_throttled(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "slow_down"
    assert body["error_description"] == body["detail"]
    assert f"too many failed token requests for this {what}" in body["detail"]


async def test_wrong_secrets_for_one_client_reach_scrypt_ten_times_and_a_bystander_is_not_queued(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    components = build_auth(config)
    app = make_app(components)
    async with _client(app, ATTACKER) as attacker, _client(app, BYSTANDER) as bystander:
        flood = asyncio.create_task(_flood(attacker, [("shop", f"wrong-{i}")
                                                      for i in range(300)]))
        await scrypt.started.wait()  # the flood is on the secret checks
        legit = await _token(bystander, "wms", "wms-secret")
        answers = await flood
    await components.aclose()
    statuses = [r.status_code for r in answers]
    assert statuses.count(401) == 10
    assert statuses.count(429) == 290
    for response in answers:
        if response.status_code == 429:
            _assert_throttled(response, "client")
    assert legit.status_code == 200, legit.text
    attacks = [s for s in scrypt.secrets() if s.startswith("wrong-")]
    assert len(attacks) == 10  # 290 refusals cost no scrypt
    # the bystander waited for at most the ten checks admitted before it, not for 300,
    # and those ran one at a time: a check thread was always free for another client
    assert scrypt.secrets().index("wms-secret") <= 10
    assert scrypt.most_wrong_at_once == 1


async def test_one_address_rotating_client_ids_is_limited_per_address(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    components = build_auth(config)
    app = make_app(components)
    async with _client(app, ATTACKER) as attacker, _client(app, BYSTANDER) as bystander:
        flood = asyncio.create_task(_flood(attacker, [(f"guess-{i}", "x") for i in range(300)]))
        await scrypt.started.wait()
        legit = await _token(bystander, "shop", "shop-secret")
        answers = await flood
        later = await _token(attacker, "wms", "wms-secret")
    await components.aclose()
    statuses = [r.status_code for r in answers]
    assert statuses.count(401) == 30 and statuses.count(429) == 270
    assert legit.status_code == 200
    assert scrypt.secrets().count("x") == 30
    assert scrypt.secrets().index("shop-secret") <= 30
    # one address holds at most all but one of the two check threads
    assert scrypt.most_wrong_at_once == 1
    # the address is spent even for a right secret, and that costs no scrypt either
    _assert_throttled(later, "address")
    assert "wms-secret" not in scrypt.secrets()


async def test_unknown_ids_cost_one_scrypt_of_the_same_parameters_and_are_throttled_alike(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    components = build_auth(config)
    app = make_app(components)
    async with _client(app, ATTACKER) as http:
        known = [await _token(http, "shop", f"w{i}") for i in range(11)]
        unknown = [await _token(http, "nobody", f"w{i}") for i in range(11)]
        keys_only = await _token(http, "keys-only", "w")
    await components.aclose()
    assert [r.status_code for r in known] == [401] * 10 + [429]
    assert [r.status_code for r in unknown] == [401] * 10 + [429]
    assert known[0].json() == unknown[0].json()
    assert keys_only.status_code == 401
    costs = {call[1:] for call in scrypt.calls}
    assert len(scrypt.calls) == 21
    assert costs == {(N, 8, 1, hashing_module.HASH_BYTES)}


async def test_the_dummy_hash_takes_the_parameters_most_clients_use() -> None:
    from policies.auth.oauth import dummy_hash

    cheap = [ClientConfig(id=f"c{i}", secret_hash=hash_secret("s", n=2**10),
                          scopes=["inventory:read"]) for i in range(2)]
    odd = ClientConfig(id="odd", secret_hash=hash_secret("s", n=2**11, r=4),
                       scopes=["inventory:read"])
    parsed = hashing_module.parse_scrypt_hash(dummy_hash([*cheap, odd]))
    assert (parsed.n, parsed.r, parsed.p) == (2**10, 8, 1)
    assert not hashing_module.verify_secret("s", dummy_hash(cheap))


async def test_the_event_loop_runs_while_a_secret_is_checked(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    # hashlib.scrypt releases the GIL: the loop keeps turning during the ~0.1 s check
    components = build_auth(config)
    app = make_app(components)
    async with _client(app, BYSTANDER) as http:
        request = asyncio.create_task(_token(http, "slow", "slow-secret"))
        await scrypt.started.wait()
        turns = 0
        while not request.done():
            turns += 1
            await asyncio.sleep(0)
        response = request.result()
    await components.aclose()
    assert response.status_code == 200
    assert turns > 100


@pytest.mark.redis
async def test_failures_on_one_replica_throttle_the_client_on_another(
        config: AuthConfig, redis_url: str, scrypt: ScryptLog) -> None:
    client = aioredis.from_url(redis_url)
    # a first connection on a busy test machine may take longer than the default deadline
    attempts = config.token_attempts.model_copy(update={"redis_deadline_seconds": 5.0})
    patient = config.model_copy(update={"token_attempts": attempts})
    replicas = [build_auth(patient, redis=client) for _ in range(2)]
    try:
        one, two = (make_app(r) for r in replicas)
        async with _client(one, ATTACKER) as first, _client(two, BYSTANDER) as second:
            spent = await _flood(first, [("wms", f"w{i}") for i in range(10)], concurrency=4)
            elsewhere = await _token(second, "wms", "wms-secret")
            other_client = await _token(second, "shop", "shop-secret")
    finally:
        for replica in replicas:
            await replica.aclose()
        await client.aclose()
    assert [r.status_code for r in spent] == [401] * 10
    _assert_throttled(elsewhere, "client")
    assert other_client.status_code == 200
    assert "wms-secret" not in scrypt.secrets()


async def test_with_redis_down_attempts_are_counted_on_the_replica(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    # nothing listens on port 9 of loopback: every Redis call fails at once
    client = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    components = build_auth(config, redis=client)
    try:
        async with _client(make_app(components), ATTACKER) as http:
            answers = [await _token(http, "wms", f"w{i}") for i in range(11)]
    finally:
        await components.aclose()
        await client.aclose()
    assert [r.status_code for r in answers] == [401] * 10 + [429]
    assert len(scrypt.calls) == 10


async def test_two_authorization_headers_on_the_token_endpoint_are_refused_unhashed(
        config: AuthConfig, scrypt: ScryptLog) -> None:
    components = build_auth(config)
    basic = httpx.BasicAuth("shop", "shop-secret")._auth_header
    wrong = httpx.BasicAuth("wms", "wrong")._auth_header
    async with _client(make_app(components), ATTACKER) as http:
        answers = [await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   headers=[("Authorization", a), ("Authorization", b)])
                   for a, b in ((basic, wrong), (wrong, basic), (basic, basic))]
    await components.aclose()
    for response in answers:
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_request",
                                   "error_description": "send one Authorization header, "
                                                        "not several"}
    assert scrypt.calls == []
