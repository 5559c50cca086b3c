"""The web UI in Debian's headless Chromium, against a real server on a loopback port."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
Browser = Callable[..., str]


def test_dashboard_shows_the_partnership_at_a_glance(server: str, chromium: Browser) -> None:
    dom = chromium("--dump-dom", f"{server}/")
    assert '<b id="stat-sectors">3</b>' in dom
    assert '<b id="stat-spokes">8</b>' in dom
    assert '<b id="stat-partners">25</b>' in dom
    assert "Closed-loop, sustainable, inclusive factories and processes" in dom
    assert "Sedia Quercia oak chair" in dom


def test_product_page_shows_the_public_materials_not_the_bill_of_materials(
    server: str, chromium: Browser
) -> None:
    dom = chromium("--dump-dom", f"{server}/products/pinza-robotica")
    assert '<h1 id="product-name">Pinza R2 robotic gripper</h1>' in dom
    assert "08012345000258" in dom
    materials = dom[dom.index('id="materials"') :]
    assert "Aluminium 6061, primary" in materials
    assert "0.650 kg" in materials
    assert 'id="bom"' not in dom  # the component breakdown is for legitimate interest
    for line in ("Housing", "Fingers (x2), printed", "Servo motor"):
        assert line not in dom
    assert "/01/08012345000258/21/PR00001" in dom


def test_pages_render_at_phone_width(server: str, chromium: Browser, tmp_path: Path) -> None:
    shot = tmp_path / "phone.png"
    chromium(
        "--window-size=390,844",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        f"{server}/products/borsa-aurora",
    )
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width == 390
