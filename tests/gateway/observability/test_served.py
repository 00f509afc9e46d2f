"""A real ``erp-gateway serve`` with several workers: scrapes, SIGTERM drain, SIGHUP reload."""

from __future__ import annotations

import json
import os
import signal
import time

import httpx
import pytest

from policies.auth.hashing import hash_api_key
from tests.support.metrics import families, value
from tests.support.served import ADMIN_KEY, NEW_CLIENT_KEY, STOREFRONT_KEY, serve

pytestmark = pytest.mark.served

STOREFRONT = {"X-API-Key": STOREFRONT_KEY}
ADMIN = {"X-API-Key": ADMIN_KEY}


def _workers_answering(url: str, want: int, tries: int = 200) -> set[int]:
    """Pids seen answering /admin/carriers, on fresh connections, until ``want`` are seen."""
    seen: set[int] = set()
    for _ in range(tries):
        with httpx.Client() as client:  # a new connection: the kernel picks the worker
            seen.add(client.get(f"{url}/admin/carriers", headers=ADMIN).json()["worker"])
        if len(seen) >= want:
            break
    return seen


def test_counters_never_decrease_across_scrapes_whichever_worker_answers():
    with serve(workers=2) as gw:
        assert len(_workers_answering(gw.url, 2)) == 2
        previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        scrapers = set()
        for round_ in range(30):
            with httpx.Client() as client:  # each on its own connection, so either worker
                for _ in range(3):
                    assert client.get(f"{gw.url}/v1/inventory/SKU-0001",
                                      headers=STOREFRONT).status_code == 200
            with httpx.Client() as client:
                text = client.get(f"{gw.url}/metrics", headers=ADMIN).text
            counters = {}
            for samples in families(text).values():
                for s in samples:
                    if s.name.endswith("_total") or s.name.endswith(("_count", "_bucket")):
                        counters[(s.name, tuple(sorted(s.labels.items())))] = s.value
            for key, before in previous.items():
                assert counters.get(key, 0.0) >= before, (key, before, counters.get(key))
            previous = counters
            served = value(text, "gateway_requests_total", operation="getInventoryV1",
                           status="200")
            # the scraped worker's own requests are flushed by the scrape; the other worker's
            # reach the files at its next heartbeat tick (a second at most)
            assert served <= 3 * (round_ + 1)
            scrapers.update(s.labels["pid"] for s in families(text)["gateway_process_cpu_seconds"])
        assert len(scrapers) == 2  # both workers' gauges, labelled by pid
        for _ in range(40):  # bounded: every worker's requests, once each has ticked
            with httpx.Client() as client:
                text = client.get(f"{gw.url}/metrics", headers=ADMIN).text
            served = value(text, "gateway_requests_total", operation="getInventoryV1",
                           status="200")
            if served == 3 * 30:
                break
            time.sleep(0.1)
        assert served == 3 * 30


def test_readyz_answers_draining_after_sigterm_while_requests_still_succeed():
    with serve(workers=2, drain=3.0) as gw, httpx.Client() as client:
        assert client.get(f"{gw.url}/readyz").status_code == 200
        os.kill(gw.process.pid, signal.SIGTERM)  # the supervisor, as a process manager does
        gw.wait_for_line('"event":"drain_started"')
        ready = client.get(f"{gw.url}/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"] == "application/problem+json"
        assert ready.json()["type"].endswith("/draining")
        assert ready.json()["state"] == "draining"
        # traffic keeps being served on new and kept-alive connections alike
        for _ in range(10):
            with httpx.Client() as fresh:
                assert fresh.get(f"{gw.url}/v1/inventory/SKU-0002",
                                 headers=STOREFRONT).status_code == 200
            assert client.get(f"{gw.url}/v1/inventory/SKU-0003",
                              headers=STOREFRONT).status_code == 200
        # both workers drain (each logs it), then close and the supervisor exits cleanly
        deadline = time.monotonic() + 30
        while gw.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gw.process.returncode == 0
        drained = {json.loads(line)["pid"] for line in gw.lines
                   if '"event":"drain_started"' in line}
        assert len(drained) == 2
        assert sum("Application shutdown complete" in line for line in gw.lines) == 2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{gw.url}/healthz")


NEW_CLIENT = """
[[auth.clients]]
id = "newcomer"
api_key_hashes = ["{key}"]
scopes = ["inventory:read"]
"""


def test_sighup_refuses_an_invalid_file_and_applies_a_valid_one_in_every_worker():
    with serve(workers=2) as gw:
        good = gw.config.read_text()
        newcomer = {"X-API-Key": NEW_CLIENT_KEY}
        gw.config.write_text(good + "\n[server]\nbogus = 1\n")  # TOML error: [server] twice
        os.kill(gw.process.pid, signal.SIGHUP)
        refused = [gw.wait_for_line('"outcome":"refused"')]
        assert "(toml)" in refused[0]
        # still serving the old configuration, in every worker
        for _ in range(10):
            with httpx.Client() as client:
                assert client.get(f"{gw.url}/v1/inventory/SKU-0001",
                                  headers=STOREFRONT).status_code == 200
                assert client.get(f"{gw.url}/v1/inventory/SKU-0001",
                                  headers=newcomer).status_code == 401
        gw.config.write_text(good + NEW_CLIENT.format(key=hash_api_key(NEW_CLIENT_KEY)))
        os.kill(gw.process.pid, signal.SIGHUP)
        deadline = time.monotonic() + 20
        while sum('"outcome":"applied"' in line for line in gw.lines) < 2:
            assert time.monotonic() < deadline, "\n".join(gw.lines[-20:])
            time.sleep(0.05)
        for _ in range(10):
            with httpx.Client() as client:
                assert client.get(f"{gw.url}/v1/inventory/SKU-0001",
                                  headers=newcomer).status_code == 200


def test_a_request_in_flight_when_the_listener_closes_still_gets_its_answer():
    import threading

    # every ERP call takes 4 s; the drain is 2 s: a read started in the drain outlives it
    with serve(workers=2, drain=2.0, erp_latency_ms=4000) as gw:
        answers: list[int] = []
        os.kill(gw.process.pid, signal.SIGTERM)
        gw.wait_for_line('"event":"drain_started"')

        def slow_read() -> None:
            with httpx.Client(timeout=20) as client:
                answers.append(client.get(f"{gw.url}/v1/inventory/SKU-0042",
                                          headers=STOREFRONT).status_code)

        reader = threading.Thread(target=slow_read)
        reader.start()
        reader.join(30)
        gw.process.wait(30)
        assert answers == [200]
        assert gw.process.returncode == 0
        # the listener had closed with the read still in flight: uvicorn waited for it
        assert any("Waiting for connections to close" in line for line in gw.lines)
