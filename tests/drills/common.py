"""Config and load helpers the drills share."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STOREFRONT = {"X-API-Key": "demo-storefront-key"}
WAREHOUSE = {"X-API-Key": "demo-warehouse-key"}
ADMIN = {"X-API-Key": "demo-admin-key"}
LIMIT = 30  # per minute, on the prices group (counted per client)
REPLICAS = 3

CONFIG = """
demo = true
[erp]
kind = "http-demo"
url = "{erp}"
connect_timeout = 0.5
read_timeout = 0.5
total_timeout = 1.0
{redis}
[cache.policies.inventory]
fresh_ttl = {fresh}
stale_while_revalidate = 0
stale_if_error = 300
[ratelimit]
default_plan = "default"
replicas = {replicas}
[ratelimit.plans.default.limits]
prices = "{limit}/minute"
inventory = "100000000/minute"
labels = "100000000/minute"
shipping = "100000000/minute"
admin = "100000000/minute"
default = "100000000/minute"
{extra}
"""


def write_config(path: Path, *, erp: str, redis_port: int | None, fresh: float = 300,
                 replicas: int = REPLICAS, extra: str = "") -> Path:
    redis = (f'[redis]\nurl = "redis://127.0.0.1:{redis_port}/0"\n'
             "socket_timeout = 0.25\nconnect_timeout = 0.25\n") if redis_port else ""
    path.write_text(CONFIG.format(erp=erp, redis=redis, fresh=fresh, replicas=replicas,
                                  limit=LIMIT, extra=extra))
    return path


@dataclass
class Load:
    """Cached reads round-robin over the gateways until stopped; status counts kept."""

    bases: Sequence[str]
    paths: Sequence[str]
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def start(self, client: httpx.AsyncClient, concurrency: int = 6) -> None:
        async def worker(n: int) -> None:
            i = n
            while not self._stop.is_set():
                base = self.bases[i % len(self.bases)]
                try:
                    response = await client.get(base + self.paths[i % len(self.paths)],
                                                headers=STOREFRONT)
                    self.statuses[response.status_code] += 1
                except httpx.HTTPError:
                    self.errors += 1
                i += 1

        async def run() -> None:
            await asyncio.gather(*(worker(n) for n in range(concurrency)))
        self._task = asyncio.create_task(run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


async def admitted(client: httpx.AsyncClient, base: str, path: str, count: int,
                   headers: dict[str, str] = STOREFRONT) -> int:
    """How many of ``count`` sequential requests were let through (2xx)."""
    ok = 0
    for _ in range(count):
        response = await client.get(base + path, headers=headers)
        assert response.status_code in (200, 429), response.text
        ok += response.status_code == 200
    return ok


async def until(check: Callable[[], Awaitable[bool]], what: str, bound: float = 30.0
                ) -> float:
    """Poll ``check`` until true; the seconds it took (printed by callers, never asserted).

    The bound only stops a broken drill from hanging; passing means "before the next step".
    """
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > bound:
            raise AssertionError(f"{what}: not reached within the drill's bound")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def ready(client: httpx.AsyncClient, base: str) -> bool:
    """Back on Redis: a limited read went through and /readyz reports nothing degraded."""
    await client.get(base + "/v1/inventory/SKU-0001", headers=STOREFRONT)
    response = await client.get(base + "/readyz")
    return response.status_code == 200 and response.json()["status"] == "ready"
