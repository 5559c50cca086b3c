"""``/docs`` renders from the package's own assets with the network off, with Authorize."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser
Browser = Callable[..., str]

# Every host but the server's loopback address fails to resolve: a machine offline.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def test_docs_render_offline_with_an_authorize_button(server: str, chromium: Browser) -> None:
    dom = chromium(OFFLINE, "--virtual-time-budget=15000", "--dump-dom", f"{server}/docs")
    assert "btn authorize" in dom  # Swagger UI drew the Authorize button
    assert "/epcis/capture" in dom  # and the operations of /openapi.json
    assert "cdn.jsdelivr.net" not in dom


def test_redoc_renders_offline(server: str, chromium: Browser) -> None:
    dom = chromium(OFFLINE, "--virtual-time-budget=15000", "--dump-dom", f"{server}/redoc")
    assert "/epcis/capture" in dom
    assert "fonts.googleapis.com" not in dom
