"""Drive headless Chromium over the DevTools protocol on its pipe (``--remote-debugging-pipe``).

Chromium reads NUL-terminated JSON commands on fd 3 and writes replies and events on fd 4;
a shell ``exec`` maps those to this process's pipes, so no port and no extra package is
needed. Only what the docs-page tests use: open a page, evaluate, wait for a condition on
DOM changes, click at an element's centre, type, press Enter, and record what was sent.
"""

from __future__ import annotations

import json
import queue
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

TIMEOUT = 30.0
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900", "--remote-debugging-pipe",
]
# resolves once the expression is truthy, re-checked on every DOM change (no polling)
WAIT = """new Promise((resolve, reject) => {
  const test = () => { try { return (%s); } catch (error) { return null; } };
  const first = test();
  if (first) { resolve(first); return; }
  const observer = new MutationObserver(() => {
    const value = test();
    if (value) { observer.disconnect(); clearTimeout(timer); resolve(value); }
  });
  const timer = setTimeout(() => { observer.disconnect();
    reject(new Error("timed out waiting for: " + %s)); }, %d);
  observer.observe(document, {subtree: true, childList: true, attributes: true,
                              characterData: true});
})"""


class DevToolsError(RuntimeError):
    pass


class Page:
    """One tab: commands go to its session; events of every session are recorded."""

    def __init__(self, browser: Browser, target: str, session: str) -> None:
        self.browser = browser
        self.target = target
        self.session = session

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})

    def call(self, method: str, **params: Any) -> Any:
        return self.browser.call(method, params, self.session)

    def evaluate(self, expression: str, timeout: float = TIMEOUT) -> Any:
        reply = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                          awaitPromise=True, timeout=int(timeout * 1000))
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            raise DevToolsError(details.get("exception", {}).get("description")
                                or details.get("text"))
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """The truthy value of ``expression`` once the page makes it so."""
        script = WAIT % (expression, json.dumps(expression), int(timeout * 1000))
        return self.evaluate(script, timeout + 5)

    def open(self, url: str) -> None:
        before = len(self.browser.events)
        self.call("Page.navigate", url=url)
        self.browser.wait_event("Page.loadEventFired", self.session, after=before)

    def click(self, selector: str) -> None:
        x, y = self.evaluate(f"""(() => {{
            const node = document.querySelector({json.dumps(selector)});
            if (!node) throw new Error("no element " + {json.dumps(selector)});
            node.scrollIntoView({{block: "center"}});
            const box = node.getBoundingClientRect();
            return [box.x + box.width / 2, box.y + box.height / 2];
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def type(self, selector: str, text: str) -> None:
        self.click(selector)
        self.call("Input.insertText", text=text)

    def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")

    def events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events
                if e["method"] == method and e.get("sessionId") == self.session]


class Browser:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        assert proc.stdin is not None and proc.stdout is not None
        self._out: IO[bytes] = proc.stdin
        self._next = 0
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.events: list[dict[str, Any]] = []
        self._event = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        buffer = b""
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    self._replies.put(message)
                else:
                    with self._event:
                        self.events.append(message)
                        self._event.notify_all()
        self._replies.put({"id": -1, "error": {"message": "chromium closed its pipe"}})

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        self._out.flush()
        while True:
            reply = self._replies.get(timeout=TIMEOUT + 10)
            if reply["id"] in (self._next, -1):
                break
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None, after: int = 0) -> None:
        def seen() -> bool:
            return any(e["method"] == method and e.get("sessionId") == session
                       for e in self.events[after:])
        with self._event:
            if not self._event.wait_for(seen, timeout=TIMEOUT):
                raise DevToolsError(f"no {method} event within {TIMEOUT} s")

    def new_page(self) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, session["sessionId"])
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.call(f"{domain}.enable")
        return page


@contextmanager
def chromium(binary: str) -> Iterator[Browser]:
    """A headless Chromium with a throwaway profile, closed on exit."""
    with tempfile.TemporaryDirectory(prefix="gw-chromium-") as profile, \
            tempfile.TemporaryFile() as log:
        # fd 3 is what Chromium reads (our stdin pipe), fd 4 what it writes (our stdout pipe)
        proc = subprocess.Popen(
            ["sh", "-c", 'exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null', binary, *FLAGS,
             f"--user-data-dir={profile}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
        browser = Browser(proc)
        try:
            yield browser
        finally:
            try:
                browser.call("Browser.close")
            except (DevToolsError, OSError, queue.Empty):
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.close()
            proc.stdout.close()
