"""The match-making page in headless Chromium: an Italian idea, reasons, the consortium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.browser
Browser = Callable[..., str]


def test_an_italian_idea_shows_partners_reasons_and_a_consortium(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    query = urlencode({"q": "gioielli in oro riciclato con tag NFC", "team": "1"})
    dom = chromium("--dump-dom", f"{server}/match?{query}")
    matches = dom[dom.index('id="matches"') :]
    assert matches.index("Orafi Aretini") < matches.index("Tessiture Biellesi")
    assert "<mark>NFC</mark>" in dom
    consortium = dom[dom.index('id="consortium"') : dom.index('id="matches"')]
    assert "Enterprise" in consortium
    assert "University" in consortium or "Research centre" in consortium
    shot = tmp_path / "match.png"
    chromium(
        "--window-size=390,844",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"{server}/match?{query}",
    )
    assert int.from_bytes(shot.read_bytes()[16:20], "big") == 390
