"""A demo item's passport page in headless Chromium at phone width (390 px)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
Browser = Callable[..., str]
PAGE = "/passport/08012345000012/BA00001"
SHOTS = Path(os.environ.get("MICS_SCREENSHOTS", "")) if os.environ.get("MICS_SCREENSHOTS") else None


def test_passport_page_at_phone_width_shows_banner_maker_and_timeline(
    server: str, chromium: Browser, tmp_path: Path
) -> None:
    shot = (SHOTS or tmp_path) / "passport-390.png"
    chromium(
        "--window-size=390,2600",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"{server}{PAGE}?lang=it",
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 390
    dom = chromium("--window-size=390,844", "--dump-dom", f"{server}{PAGE}?lang=it")
    assert 'class="banner neutral"' in dom
    assert "Non verificato con il tag" in dom
    assert '<h1 id="product-name">Borsa Aurora in pelle</h1>' in dom  # the maker's Italian name
    assert "Maison Aurora" in dom
    timeline = dom[dom.index('id="provenance"') : dom.index('id="footprint"')]
    assert "Arzignano" in timeline
    assert "Spedito" in timeline
    assert "Scandicci" in timeline
    materials = dom[dom.index('id="materials"') : dom.index('id="provenance"')]
    assert "Bovine leather, chrome tanned" in materials
    assert "74 %" in materials
    assert 'id="repair"' in dom
    assert 'id="recycling"' in dom


def test_passport_page_in_english_from_the_browser_language(server: str, chromium: Browser) -> None:
    dom = chromium("--lang=en-GB", "--dump-dom", f"{server}{PAGE}")
    assert "Where it comes from" in dom
    assert "Carbon footprint" in dom


def test_scanning_a_demo_items_qr_code_opens_its_passport(server: str, chromium: Browser) -> None:
    import json
    import urllib.request

    from mics.passport.labels import qr_svg

    with urllib.request.urlopen(f"{server}/api/items?product=borsa-aurora&limit=1") as response:
        item = json.load(response)["items"][0]
    with urllib.request.urlopen(f"{server}/api/items/{item['id']}/qr.svg") as response:
        served = response.read()
    link = f"{server}/01/{item['gtin']}/21/{item['serial']}"
    assert served == qr_svg(link)  # the QR on the label encodes exactly this Digital Link
    dom = chromium("--window-size=390,844", "--dump-dom", link)
    assert "Borsa Aurora leather handbag" in dom
    assert item["serial"] in dom
    assert "Maison Aurora Moda" in dom
