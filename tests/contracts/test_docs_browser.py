"""The docs page in headless Chromium against the real server: its script renders every
operation of every document (the static HTML holds none of them)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from gateway.contracts.generator import document_names, documents
from gateway.operations import operations
from tests.support.redis_server import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=10000",
]


@pytest.fixture(scope="module")
def browser() -> str:
    """Debian's chromium; CI fails without it, elsewhere the test is skipped."""
    found = shutil.which("chromium")
    if found:
        return found
    message = ("chromium is not on PATH: install Debian's chromium "
               "(apt-get update && apt-get install -y chromium); .ci/run does")
    if os.environ.get("CI"):
        pytest.fail(message + " - CI must run the browser test, not skip it")
    pytest.skip(message)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``python -m gateway serve`` (the embedded demo) on a free loopback port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--port", str(port),
                                 "--log-level", "warning"], cwd=ROOT, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"the server exited with {proc.returncode}:\n"
                                + log.read().decode(errors="replace"))
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the server did not answer /healthz within {STARTUP_SECONDS} s")
                time.sleep(0.1)
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


class _Operations(HTMLParser):
    """Collects the rendered operation elements and the version switcher's options."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: set[tuple[str, str, str]] = set()
        self.options: list[str] = []
        self.rendered: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-operation-id" in found:
            self.operations.add((found["data-operation-id"] or "", found.get("data-method") or "",
                                 found.get("data-path") or ""))
        if tag == "option" and found.get("value"):
            self.options.append(found["value"] or "")
        if found.get("id") == "app":
            self.rendered = found.get("data-rendered")


def dump_dom(browser: str, url: str) -> str:
    with tempfile.TemporaryDirectory(prefix="gw-chromium-") as profile:
        done = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               "--dump-dom", url], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("name", document_names(operations()))
def test_docs_page_renders_every_operation_of_the_document(browser, server, name):
    expected = {(op["operationId"], method, path)
                for path, item in documents(operations())[name]["paths"].items()
                for method, op in item.items()}
    static = httpx.get(f"{server}/docs", timeout=5)
    assert static.status_code == 200 and "data-operation-id" not in static.text

    page = _Operations()
    page.feed(dump_dom(browser, f"{server}/docs?doc={name}"))

    assert page.rendered == name, "the script did not finish rendering the document"
    assert page.operations == expected
    assert page.options == document_names(operations())
