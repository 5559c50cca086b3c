"""``/docs`` renders from the package's own assets with the network off, with Authorize."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser
Browser = Callable[..., str]

# Every host but the server's loopback address fails to resolve: a machine offline.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def _rendered(chromium: Browser, url: str, marker: str) -> str:
    """The DOM once ``marker`` shows, trying twice: on a loaded machine the first render
    of a 1.5 MB bundle may outlast Chromium's virtual-time budget."""
    urllib.request.urlopen(f"{url.rsplit('/', 1)[0]}/openapi.json", timeout=60).read()  # warm
    dom = ""
    for _ in range(2):
        dom = chromium(OFFLINE, "--virtual-time-budget=30000", "--dump-dom", url)
        if marker in dom:
            break
    return dom


def test_docs_render_offline_with_an_authorize_button(server: str, chromium: Browser) -> None:
    dom = _rendered(chromium, f"{server}/docs", "btn authorize")
    assert "btn authorize" in dom  # Swagger UI drew the Authorize button
    assert "/epcis/capture" in dom  # and the operations of /openapi.json
    assert "cdn.jsdelivr.net" not in dom


def test_redoc_renders_offline(server: str, chromium: Browser) -> None:
    dom = _rendered(chromium, f"{server}/redoc", "/epcis/capture")
    assert "/epcis/capture" in dom
    assert "fonts.googleapis.com" not in dom
