"""Click through the registry and the what-if footprint in headless Chromium (DevTools pipe).

Each test drives a real page as a reader would: follow an item's Digital Link
from the product page to its passport, search from the header box, change a
material on the footprint page and see the total change in place (and the URL
keep the variant), switch the language. ``MICS_SCREENSHOTS=dir`` keeps a
1280 px and a 390 px screenshot of every page these tests open.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import CHROMIUM
from tests.web.devtools import Browser, Page

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["MICS_SCREENSHOTS"]) if os.environ.get("MICS_SCREENSHOTS") else None
PAGES = {
    "dashboard": "/",
    "spokes": "/spokes",
    "spoke": "/spokes/6",
    "projects": "/projects",
    "project": "/projects/generative-bag",
    "materials": "/materials",
    "material": "/materials/leather-chrome",
    "partner": "/partners/maison-aurora",
    "product": "/products/borsa-aurora",
    "footprint": "/products/borsa-aurora/footprint?variant=vegetable-tanning",
    "search": "/search?q=oak",
}


@pytest.fixture
def page(server: str, tmp_path: Path) -> Iterator[Page]:
    assert CHROMIUM is not None  # the server fixture skips without it
    browser = Browser(CHROMIUM, tmp_path / "profile", lang="en-GB")
    try:
        yield browser.page()
    finally:
        browser.close()


def test_an_items_digital_link_on_the_product_page_opens_its_passport(
    server: str, page: Page
) -> None:
    page.open(f"{server}/products/borsa-aurora")
    link = page.run("document.querySelector('#items a.digital-link').href")
    assert link == f"{server}/01/08012345000012/21/BA00001"
    page.run("document.querySelector('#items img').scrollIntoView()")  # loaded lazily
    assert page.wait("document.querySelector('#items img').naturalWidth") > 0  # the QR code drew
    page.mark()
    page.click("#items a.digital-link")
    page.loaded()
    assert page.run("location.pathname").startswith("/01/08012345000012/21/BA00001")
    assert page.text("#product-name") in ("Borsa Aurora leather handbag", "Borsa Aurora in pelle")
    assert "BA00001" in page.run("document.body.textContent")


def test_the_header_search_box_finds_a_material_and_opens_it(server: str, page: Page) -> None:
    page.open(f"{server}/products")
    page.run("document.querySelector('.site-search input').value = 'oak'")
    page.mark()
    page.run("document.querySelector('.site-search').requestSubmit()")
    page.loaded()
    assert page.run("location.search") == "?q=oak"
    assert "Oak timber, kiln dried" in page.text("#found-materials")
    page.mark()
    page.click("#found-materials a")
    page.loaded()
    assert page.text("#material-name") == "Oak timber, kiln dried"


def test_changing_a_material_on_the_footprint_page_changes_the_total_in_place(
    server: str, page: Page
) -> None:
    page.open(f"{server}/products/borsa-aurora/footprint?monte_carlo=0")
    before = float(page.text("#whatif-gwp"))
    page.run("window.__samePage = true")
    page.choose("select[name='material:leather-chrome']", "leather-vegetable")
    page.wait("document.querySelector('#whatif-figures').dataset.variant !== ''")
    after = float(page.text("#whatif-gwp"))
    # vegetable tanning: another footprint, computed by the server (its sign follows the data)
    assert abs(after - before) > 0.1
    assert page.run("window.__samePage") is True  # swapped in place, no new page
    assert "Bovine leather, vegetable tanned" in page.text("#whatif-changes")
    assert (
        page.run("new URL(location.href).searchParams.get('variant')")
        == "material:leather-chrome=leather-vegetable"
    )
    shared = page.run("location.href")
    assert shared.endswith("#whatif")
    page.open(shared.removesuffix("#whatif"))  # the URL is the variant: afresh, the same total
    assert float(page.text("#whatif-gwp")) == pytest.approx(after)


def test_the_language_switch_turns_the_pages_italian_and_keeps_them_so(
    server: str, page: Page
) -> None:
    page.open(f"{server}/spokes")
    assert page.run("document.documentElement.lang") == "en"
    page.mark()
    page.click("#lang-it")
    page.loaded()
    assert page.run("location.pathname") == "/spokes"
    assert page.run("document.documentElement.lang") == "it"
    assert page.text("nav a[href='/']") == "Cruscotto"
    page.open(f"{server}/materials")
    assert page.text("h1").startswith("Materiali")
    page.mark()
    page.click("#lang-en")
    page.loaded()
    assert page.text("h1").startswith("Materials")


@pytest.mark.skipif(SHOTS is None, reason="MICS_SCREENSHOTS is not set")
def test_screenshots_of_every_registry_page_at_1280_and_390_px(server: str, page: Page) -> None:
    assert SHOTS is not None
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        page.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
        )
        for name, path in PAGES.items():
            page.open(f"{server}{path}")
            shot = page.send(
                "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
            )
            (SHOTS / f"{name}-{width}.png").write_bytes(base64.b64decode(shot["data"]))
            # nothing wider than the screen: a phone reader never scrolls sideways
            assert page.run("document.documentElement.scrollWidth") <= width, (name, width)


# The other public pages of the navigation (events, trace and recall need a key).
FORMS = {
    "factory": "/factory",
    "factory-it": "/factory?lang=it",
    "custody": "/custody",
    "match": "/match?q=recycled+leather",
    "log": "/log",
    "signin": "/signin",
}


def test_no_public_page_scrolls_sideways_on_a_phone(server: str, page: Page) -> None:
    page.resize(390, 844)
    wide = {}
    for name, path in (PAGES | FORMS).items():
        page.open(f"{server}{path}")
        width = page.run("document.documentElement.scrollWidth")
        if width > 390:
            wide[name] = width
    assert wide == {}


def test_the_custody_sites_line_up_with_the_heading_as_cards(server: str, page: Page) -> None:
    page.resize(1280, 900)
    page.open(f"{server}/custody")
    edges = page.run(
        "[document.querySelector('main h1').getBoundingClientRect().left,"
        " document.querySelector('ul.cards > li.card').getBoundingClientRect().left,"
        " getComputedStyle(document.querySelector('ul.cards > li.card')).listStyleType]"
    )
    assert edges[1] == edges[0]  # no list indent before the first card
    assert edges[2] == "none"  # and no bullet beside it
