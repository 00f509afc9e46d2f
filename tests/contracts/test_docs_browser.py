"""The docs page in headless Chromium against the real server: its script renders every
operation of every document (the static HTML holds none of them), and a try-it-out call
typed and clicked through the DevTools protocol reaches the gateway and shows its answer."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.contracts.generator import document_names, documents
from gateway.operations import operations
from policies.problems import PROBLEM_BASE
from tests.contracts.cdp import Browser, Page, chromium
from tests.support.redis_server import free_port

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DEMO_KEY = "demo-storefront-key"  # README, the demo's storefront client
STARTUP_SECONDS = 30


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


@pytest.fixture(scope="module")
def devtools(browser: str) -> Iterator[Browser]:
    with chromium(browser) as running:
        yield running


@pytest.fixture
def page(devtools: Browser) -> Iterator[Page]:
    """A fresh tab per test: its own page state and its own event record."""
    tab = devtools.new_page()
    yield tab
    tab.close()


@pytest.mark.parametrize("name", document_names(operations()))
def test_docs_page_renders_every_operation_of_the_document(page, server, name):
    expected = {(op["operationId"], method, path)
                for path, item in documents(operations())[name]["paths"].items()
                for method, op in item.items()}
    static = httpx.get(f"{server}/docs", timeout=5)
    assert static.status_code == 200 and "data-operation-id" not in static.text

    page.open(f"{server}/docs?doc={name}")
    page.wait_for(f"document.getElementById('app').dataset.rendered === {json.dumps(name)}")
    rendered = page.evaluate("[...document.querySelectorAll('[data-operation-id]')].map((n) =>"
                             " [n.dataset.operationId, n.dataset.method, n.dataset.path])")
    options = page.evaluate("[...document.querySelectorAll('#document-select option')]"
                            ".map((o) => o.value)")
    assert {tuple(r) for r in rendered} == expected and len(rendered) == len(expected)
    assert options == document_names(operations())
    # every operation has its try-it-out form
    assert page.evaluate("document.querySelectorAll('[data-try]').length") == len(expected)


RESULT = "document.querySelector('[data-try=getInventoryV1] .result')"
CURL = "document.querySelector('[data-try=getInventoryV1] [data-block=curl]').textContent"


def _send_and_wait(page: Page, status: str) -> dict:
    page.click("[data-try=getInventoryV1] button.send")
    page.wait_for(f"{RESULT}.dataset.resultStatus === {json.dumps(status)}")
    return json.loads(page.evaluate(
        f"{RESULT}.querySelector('[data-block=response]').textContent"))


def _sent_to(page: Page, path: str) -> list[dict]:
    """Headers of the requests the page sent to ``path`` (names lower-cased)."""
    return [{k.lower(): v for k, v in e["request"]["headers"].items()}
            for e in page.events("Network.requestWillBeSent")
            if urlsplit(e["request"]["url"]).path == path]


def test_try_it_out_calls_the_gateway_with_the_key_typed_in_and_shows_both_answers(page, server):
    """Without a key the gateway's 401 problem is shown; with the demo key, the 200 JSON."""
    page.open(f"{server}/docs?doc=v1#getInventoryV1")
    page.wait_for("document.getElementById('app').dataset.rendered === 'v1'")
    assert page.evaluate("document.querySelector('#getInventoryV1 > details').open") is True
    assert page.evaluate("document.querySelector('[data-try=getInventoryV1] input"
                         "[data-name=sku]').value") == "SKU-0001"

    problem = _send_and_wait(page, "401")
    assert problem["type"] == PROBLEM_BASE + "unauthorized" and problem["status"] == 401
    assert problem["instance"] == "/v1/inventory/SKU-0001"
    assert page.evaluate(f"{RESULT}.dataset.resultKind") == "problem"
    assert "www-authenticate" in page.evaluate(f"{RESULT}.textContent")

    page.type("#credential-value", DEMO_KEY)
    page.press_enter()  # must not submit anything: the key would land in a URL
    answer = _send_and_wait(page, "200")
    assert answer["sku"] == "SKU-0001"
    assert {w["warehouse"] for w in answer["warehouses"]} == {"WH-EAST", "WH-CENTRAL", "WH-WEST"}
    assert page.evaluate(f"{RESULT}.dataset.resultKind") == "ok"

    calls = _sent_to(page, "/v1/inventory/SKU-0001")
    assert len(calls) == 2
    assert "x-api-key" not in calls[0]
    assert calls[1]["x-api-key"] == DEMO_KEY
    assert calls[1]["accept"].startswith("application/json")

    # the key is in no URL, no storage and no snippet
    sent_urls = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert sent_urls and not [u for u in sent_urls if DEMO_KEY in u]
    assert page.evaluate("location.href") == f"{server}/docs?doc=v1#getInventoryV1"
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("document.cookie") == ""
    curl = page.evaluate(CURL)
    assert DEMO_KEY not in curl
    assert curl.startswith(f"curl -sS -i '{server}/v1/inventory/SKU-0001'")
    assert '-H "X-API-Key: $GATEWAY_API_KEY"' in curl

    page.click("#credential-clear")
    assert _send_and_wait(page, "401")["status"] == 401
    page.type("#credential-value", DEMO_KEY)
    page.open(f"{server}/docs?doc=v1")  # a reload forgets the key
    page.wait_for("document.getElementById('app').dataset.rendered === 'v1'")
    assert page.evaluate("document.getElementById('credential-value').value") == ""


def test_the_curl_snippet_follows_the_form_and_the_credential_kind(page, server):
    page.open(f"{server}/docs?doc=v1#getInventoryV1")
    page.wait_for("document.getElementById('app').dataset.rendered === 'v1'")
    page.type("[data-try=getInventoryV1] input[data-name=sku]", "-9 X")  # appended to SKU-0001
    page.wait_for(f"{CURL}.includes('/v1/inventory/SKU-0001-9%20X')")
    page.evaluate("""(() => { const kind = document.getElementById('credential-kind');
        kind.value = 'bearer'; kind.dispatchEvent(new Event('change')); })()""")
    assert '-H "Authorization: Bearer $GATEWAY_TOKEN"' in page.evaluate(CURL)

    page.browser.call("Browser.grantPermissions", {
        "origin": server, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    page.click("[data-try=getInventoryV1] .curl button.copy")
    page.wait_for("document.querySelector('[data-try=getInventoryV1] .curl .copy-status')"
                  ".textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == page.evaluate(CURL)


def test_examples_curl_for_a_body_and_unescaped_patterns_are_shown_under_the_page_csp(
        page, server):
    page.open(f"{server}/docs?doc=v2#queryPricesV2")
    page.wait_for("document.getElementById('app').dataset.rendered === 'v2'")
    op = documents(operations())["v2"]["paths"]["/v2/prices/query"]["post"]
    shown = page.evaluate("document.querySelector('#queryPricesV2 [data-block=example-request]')"
                          ".textContent")
    assert json.loads(shown) == op["requestBody"]["content"]["application/json"]["example"]
    body = page.evaluate("document.querySelector('[data-try=queryPricesV2] textarea').value")
    assert json.loads(body) == json.loads(shown)
    curl = page.evaluate("document.querySelector('[data-try=queryPricesV2] [data-block=curl]')"
                         ".textContent")
    assert curl.startswith(f"curl -sS -i -X POST '{server}/v2/prices/query'")
    assert "-H 'Content-Type: application/json'" in curl
    assert curl.endswith("--data-raw '" + body + "'")
    page.type("#credential-value", DEMO_KEY)
    page.click("[data-try=queryPricesV2] button.send")
    result = "document.querySelector('[data-try=queryPricesV2] .result')"
    page.wait_for(f"{result}.dataset.resultStatus === '200'")
    prices = json.loads(page.evaluate(f"{result}.querySelector('[data-block=response]')"
                                      ".textContent"))
    assert [item["sku"] for item in prices["items"]] == ["SKU-0001"]
    [sent] = _sent_to(page, "/v2/prices/query")
    assert sent["content-type"] == "application/json"
    problem = page.evaluate("document.querySelector('#queryPricesV2 tr[data-status=\"422\"] "
                            "[data-block=example-problem]').textContent")
    assert json.loads(problem)["errors"]
    pattern = page.evaluate("document.querySelector('#getPriceV2 [data-parameter=sku] "
                            "[data-constraint=pattern] code').textContent")
    [sku] = [p for p in documents(operations())["v2"]["paths"]["/v2/prices/{sku}"]["get"][
        "parameters"] if p.get("name") == "sku"]
    assert "\\" in sku["schema"]["pattern"]
    assert pattern == sku["schema"]["pattern"]  # as written, not JSON-escaped (\\- for \-)
    logged = [e["entry"]["text"] for e in page.events("Log.entryAdded")]
    assert not [t for t in logged if "Content Security Policy" in t], logged
    assert not page.events("Runtime.exceptionThrown")


def test_a_token_from_the_client_credentials_grant_is_used_as_bearer(page, server):
    page.open(f"{server}/docs?doc=v2#getPriceV2")
    page.wait_for("document.getElementById('app').dataset.rendered === 'v2'")
    page.click("details.token > summary")
    page.type("#token-client", "demo-storefront")
    page.type("#token-secret", "demo-storefront-secret")
    page.click("#token-get")
    status = page.wait_for("document.getElementById('token-status').textContent"
                           ".startsWith('Token for') && "
                           "document.getElementById('token-status').textContent")
    assert "prices:read" in status
    assert page.evaluate("document.getElementById('credential-kind').value") == "bearer"
    token = page.evaluate("document.getElementById('credential-value').value")
    assert token.count(".") == 2  # a JWT

    page.click("[data-try=getPriceV2] button.send")
    result = "document.querySelector('[data-try=getPriceV2] .result')"
    page.wait_for(f"{result}.dataset.resultStatus === '200'")
    price = json.loads(page.evaluate(f"{result}.querySelector('[data-block=response]')"
                                     ".textContent"))
    assert price["sku"] == "SKU-0001" and price["customer"] == "CUST-001"
    assert price["unit_price"]["currency"]["code"]

    [grant] = _sent_to(page, "/oauth/token")
    assert grant["authorization"].startswith("Basic ")
    [call] = _sent_to(page, "/v2/prices/SKU-0001")
    assert call["authorization"] == f"Bearer {token}"
    urls = [e["request"]["url"] for e in page.events("Network.requestWillBeSent")]
    assert not [u for u in urls if token in u or "demo-storefront-secret" in u]
    curl = page.evaluate("document.querySelector('[data-try=getPriceV2] [data-block=curl]')"
                         ".textContent")
    assert '-H "Authorization: Bearer $GATEWAY_TOKEN"' in curl and token not in curl
    assert "customer=CUST-001" in curl and "quantity=1" in curl


def test_a_form_body_is_sent_and_shown_as_its_media_type(page, server):
    """POST /oauth/token takes application/x-www-form-urlencoded, not JSON."""
    page.open(f"{server}/docs?doc=platform#issueToken")
    page.wait_for("document.getElementById('app').dataset.rendered === 'platform'")
    body = "document.querySelector('[data-try=issueToken] textarea')"
    assert "grant_type=client_credentials" in page.evaluate(f"{body}.value")
    page.evaluate(f"""(() => {{ const area = {body};
        area.value = 'grant_type=client_credentials&scope=inventory%3Aread';
        area.dispatchEvent(new Event('input', {{bubbles: true}})); }})()""")
    curl = page.evaluate("document.querySelector('[data-try=issueToken] [data-block=curl]')"
                         ".textContent")
    assert "-H 'Content-Type: application/x-www-form-urlencoded'" in curl
    assert "GATEWAY_" not in curl  # a public operation: no credential placeholder
    page.click("[data-try=issueToken] button.send")
    result = "document.querySelector('[data-try=issueToken] .result')"
    page.wait_for(f"{result}.dataset.resultStatus")
    # no client credentials in the form or a Basic header: the grant is refused
    assert page.evaluate(f"{result}.dataset.resultStatus") == "401"
    [sent] = _sent_to(page, "/oauth/token")
    assert sent["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in sent
    refusal = json.loads(page.evaluate(f"{result}.querySelector('[data-block=response]')"
                                       ".textContent"))
    assert refusal["error"] == "invalid_client"
