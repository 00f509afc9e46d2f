"""What the docs page promises without a browser: a strict CSP it can live under (no inline
script, style or handler), every module it imports served from the package, and credentials
kept out of storage, cookies and form submissions."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.app import gateway

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "contracts" / "static"
SCRIPTS = sorted(path.name for path in STATIC.glob("*.js"))


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        self.inline += [f"{tag} {name}" for name in found
                        if name.startswith("on") or name == "style"]
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self.scripts.append(found)
            self._in_script = True
        if tag == "input":
            self.inputs.append(found)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append("inline script")


async def test_the_docs_page_is_served_with_a_strict_content_security_policy():
    async with gateway() as (_, client):
        page = await client.get("/docs")
    policy = page.headers["content-security-policy"]
    directives = _directives(policy)
    assert directives["default-src"] == ["'none'"]
    for name in ("script-src", "style-src", "connect-src"):
        assert directives[name] == ["'self'"], name
    assert directives["form-action"] == directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in policy and "*" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_page_has_no_inline_script_style_or_handler_and_loads_one_module():
    markup = _Markup()
    markup.feed((STATIC / "docs.html").read_text(encoding="utf-8"))
    assert markup.inline == []
    assert [(s.get("type"), (s.get("src") or "").split("?")[0]) for s in markup.scripts] == [
        ("module", "docs/assets/docs.js")]
    # inputs without a name are never serialized into a form submission (a URL, for GET)
    assert markup.inputs and all("name" not in i for i in markup.inputs)
    secrets = {i["id"] for i in markup.inputs if i.get("type") == "password"}
    assert secrets == {"credential-value", "token-secret"}


@pytest.mark.parametrize("script", SCRIPTS)
async def test_every_module_import_is_an_asset_the_gateway_serves(script):
    source = (STATIC / script).read_text(encoding="utf-8")
    imported = re.findall(r'^import .* from "\./([^"]+)";$', source, re.MULTILINE)
    async with gateway() as (_, client):
        for name in [script, *imported]:
            response = await client.get(f"/docs/assets/{name}")
            assert response.status_code == 200, name
            assert response.headers["content-type"].startswith("text/javascript")
            assert response.text == (STATIC / name).read_text(encoding="utf-8")
    assert set(imported) <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_keep_credentials_in_memory_and_never_write_markup(script):
    source = (STATIC / script).read_text(encoding="utf-8")
    code = re.sub(r"^\s*//.*$", "", source, flags=re.MULTILINE)  # comments may name them
    for forbidden in ("localStorage", "sessionStorage", "document.cookie", "indexedDB",
                      "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                      "eval(", "new Function", "://"):
        assert forbidden not in code, f"{script} uses {forbidden}"
