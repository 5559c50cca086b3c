"""Drive Debian's headless Chromium through the Chrome DevTools Protocol over a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3
and write answers and events to descriptor 4, each a JSON message ended by a NUL byte: no
WebSocket library, no browser download, only the standard library. A :class:`Browser` is
one Chromium with a fresh profile; a :class:`Page` is one of its tabs: open a URL, run
JavaScript in it, fill a form, click, wait until a condition holds and take screenshots,
as a reader clicking through would. Every browser test drives Chromium with this module.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

TIMEOUT = 30.0  # seconds Chromium has to answer one command or to reach a condition
# Headless, and quiet: no sandbox (containers), no GPU, no background traffic.
HEADLESS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class DevToolsError(RuntimeError):
    pass


class Browser:
    """One headless Chromium, started with a fresh profile, stopped with ``close()``.

    ``lang`` sets the browser's language (its Accept-Language), e.g. ``"en-GB"``."""

    def __init__(self, executable: str, profile: Path, *, lang: str | None = None) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        args = [
            *HEADLESS,
            "--hide-scrollbars",
            *([f"--lang={lang}"] if lang else []),
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # the child's descriptors 3 and 4 must be these pipes: dup them there in the child
        self._process = subprocess.Popen(
            [executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=_descriptors(to_chrome_r, from_chrome_w),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send one command and return its ``result``; a protocol error raises."""
        self._next_id += 1
        wanted = self._next_id
        message: dict[str, Any] = {"id": wanted, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            answer = self._read(deadline)
            if answer.get("id") == wanted:
                if "error" in answer:
                    raise DevToolsError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            # anything else is an event (the pages enable none they wait for): dropped

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise DevToolsError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise DevToolsError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(message)
        return found

    def page(self, width: int | None = None, height: int = 900) -> Page:
        """A new tab; with ``width``, its window is ``width`` x ``height`` CSS pixels."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        page.send("Page.enable")
        page.send("Runtime.enable")
        if width is not None:
            page.resize(width, height)
        return page

    def close(self) -> None:
        with contextlib.suppress(DevToolsError, OSError):  # it may close the pipe first
            self.send("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


class Page:
    """One tab of the browser."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def resize(self, width: int, height: int) -> None:
        """Make the window ``width`` x ``height`` (a phone's below 600 pixels)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def open(self, url: str, *, timeout: float = TIMEOUT) -> None:
        """Go to ``url`` and wait until its document has loaded."""
        self.mark()
        self.send("Page.navigate", {"url": url})
        self.loaded(timeout)

    def mark(self) -> None:
        """Mark this document, so that ``loaded`` can tell the next one from it."""
        self.run("window.__micsOld = true")

    def loaded(self, timeout: float = TIMEOUT) -> None:
        """Wait until a new document (not the one ``mark`` marked) has loaded."""
        self.wait("!window.__micsOld && document.readyState === 'complete'", timeout)

    def run(self, expression: str) -> Any:
        """The value of the JavaScript ``expression`` in the page (promises awaited)."""
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in answer:
            raise DevToolsError(f"{expression[:80]}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait(self, condition: str, timeout: float = TIMEOUT) -> Any:
        """Poll the JavaScript ``condition`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.run(condition)
            except DevToolsError:
                value = None  # the page is being replaced: ask again
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout} s: {condition}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click on the element ``selector`` (scrolled into view), in the middle
        of its first box: a link that wraps has one box per line."""
        box = self.run(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getClientRects()[0];"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1},
            )

    def click_and_wait(self, selector: str) -> None:
        """Click ``selector`` (a submit button, a link) and wait for the next page to load."""
        self.mark()
        self.run(f"document.querySelector({json.dumps(selector)}).click()")
        self.loaded()

    def fill(self, selector: str, value: str) -> None:
        """Set the form field ``selector`` to ``value`` (fires change)."""
        self.run(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
            f"e.value = {json.dumps(value)}; e.dispatchEvent(new Event('change')); }})()"
        )

    def choose(self, selector: str, value: str) -> None:
        """Pick ``value`` in the ``<select>`` ``selector``, as a reader does (fires change)."""
        self.run(
            f"(() => {{ const s = document.querySelector({json.dumps(selector)});"
            f" s.value = {json.dumps(value)};"
            " s.dispatchEvent(new Event('change', {bubbles: true})); })()"
        )

    def text(self, selector: str) -> str:
        """The ``textContent`` of ``selector`` (hidden parts too), or ``""``."""
        found = self.run(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''"
        )
        return str(found)

    def shown_text(self, selector: str) -> str:
        """The ``innerText`` of ``selector``: the text as laid out and shown, or ``""``."""
        found = self.run(
            f"(document.querySelector({json.dumps(selector)}) || {{}}).innerText || ''"
        )
        return str(found)

    def screenshot(self, path: Path, *, whole: bool = False) -> Path:
        """A PNG of the window (``whole``: of the whole page) at the current width."""
        params: dict[str, Any] = {"format": "png"}
        if whole:
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)
        path.write_bytes(base64.b64decode(data["data"]))
        return path


def _descriptors(read_end: int, write_end: int) -> Any:
    def child() -> None:
        # through fresh copies first: either end may itself be descriptor 3 or 4
        read_copy, write_copy = os.dup(read_end), os.dup(write_end)
        os.dup2(read_copy, 3)
        os.dup2(write_copy, 4)

    return child
