"""Registry pages, search and the language switch, as HTML over ASGI on the demo registry."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database

pytestmark = pytest.mark.anyio
BASE = "https://mics.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo_registry: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_registry, tmp_path / "var", base_url=BASE) as c:
        yield c


async def test_a_spoke_page_lists_its_projects_and_partners_with_links(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/spokes/1")).text
    projects = page[page.index('id="spoke-projects"') : page.index('id="spoke-partners"')]
    assert 'href="/projects/generative-bag"' in projects
    assert "Politecnico Lombardo (example)" in projects  # partners by name, not id
    partners = page[page.index('id="spoke-partners"') :]
    assert 'href="/partners/politecnico-lombardo"' in partners
    assert "Segheria del Cadore" not in partners  # not a spoke-1 partner


async def test_an_unknown_spoke_is_a_404_page_naming_the_spokes(client: httpx.AsyncClient) -> None:
    page = await client.get("/spokes/99", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "no spoke &#39;99&#39;" in page.text or "no spoke '99'" in page.text


async def test_a_project_page_names_its_spoke_and_links_its_partners(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/projects/generative-bag")).text
    assert '<h1 id="project-title">Generative design of leather goods' in page
    assert 'href="/spokes/1"' in page
    assert 'href="/partners/pelletteria-fiorentina"' in page


async def test_materials_show_recycled_and_bio_based_shares_not_the_supplier(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/materials")).text
    row = page[page.index('id="material-aluminium-recycled"') :]
    row = row[: row.index("</tr>")]
    assert "Aluminium 6061, recycled" in row
    assert re.search(r'class="recycled">.*\b(\d+) %', row).group(1) == "95"  # type: ignore[union-attr]
    leather = (await client.get("/materials/leather-chrome")).text
    assert '<dd id="bio-based">100 %</dd>' in leather
    assert "conceria-del-brenta" not in leather  # the supplier is for authorities


async def test_a_partner_page_shows_its_products_projects_and_competences(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/partners/maison-aurora")).text
    products = page[page.index('id="partner-products"') :]
    assert 'href="/products/borsa-aurora"' in products
    assert 'href="/projects/' in page[page.index('id="partner-projects"') :]
    assert '<a href="/search?q=luxury%20brand">luxury brand</a>' in page


async def test_the_product_page_lists_items_with_digital_links_and_qr_codes(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/products/borsa-aurora")).text
    items = page[page.index('id="items"') :]
    link = f"{BASE}/01/08012345000012/21/BA00001"
    assert f'<a class="digital-link" href="{link}">' in items
    qr = re.search(r'src="(/api/items/\d+/qr\.svg)"', items)
    assert qr is not None
    served = await client.get(qr.group(1))
    from mics.passport.labels import qr_svg

    assert served.content == qr_svg(link)  # the QR code shown encodes the link shown


async def test_search_links_each_hit_and_an_item_to_its_digital_link(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/search", params={"q": "BA0000"})).text
    items = page[page.index('id="found-items"') :]
    assert f'href="{BASE}/01/08012345000012/21/BA00001"' in items
    oak = (await client.get("/search", params={"q": "oak"})).text
    assert 'href="/products/sedia-quercia"' in oak
    assert 'href="/materials/oak-timber"' in oak
    none = (await client.get("/search", params={"q": "zzzz-nothing"})).text
    assert 'id="no-results"' in none


async def test_a_pasted_digital_link_finds_its_item(client: httpx.AsyncClient) -> None:
    text = "https://id.gs1.org/01/08012345000012/21/BA00003"
    page = (await client.get("/search", params={"q": text})).text
    items = page[page.index('id="found-items"') :]
    assert f'href="{BASE}/01/08012345000012/21/BA00003"' in items
    assert "BA00001" not in items
    unknown = (await client.get("/search", params={"q": "/01/08012345000012/21/NOPE"})).text
    assert 'id="no-results"' in unknown


async def test_a_search_text_too_long_is_a_422_naming_q(client: httpx.AsyncClient) -> None:
    page = await client.get("/search", params={"q": "x" * 300}, headers={"Accept": "text/html"})
    assert page.status_code == 422
    assert "q: a search text is at most 200 characters" in page.text


async def test_pages_speak_italian_from_accept_language_and_the_switch_keeps_it(
    client: httpx.AsyncClient,
) -> None:
    english = await client.get("/spokes")
    assert english.headers["content-language"] == "en"
    assert "<h1>Spokes" in english.text
    italian = await client.get("/materials", headers={"Accept-Language": "it-IT,it;q=0.9"})
    assert italian.headers["content-language"] == "it"
    assert '<html lang="it">' in italian.text
    assert "<h1>Materiali" in italian.text
    switch = await client.get("/lang/it", params={"next": "/projects?x=1"})
    assert switch.status_code == 303
    assert switch.headers["location"] == "/projects?x=1"
    kept = await client.get("/projects")  # the cookie now says it
    assert "<h1>Progetti" in kept.text
    assert (await client.get("/projects", params={"lang": "en"})).text.count("<h1>Projects") == 1


async def test_the_switch_goes_back_only_to_a_page_of_this_site(client: httpx.AsyncClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        answer = await client.get("/lang/en", params={"next": target})
        assert answer.headers["location"] == "/"
    bad = await client.get("/lang/fr", headers={"Accept": "application/json"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "code"


async def test_every_public_page_has_an_italian_heading(client: httpx.AsyncClient) -> None:
    headings = {
        "/": "Made in Italy circolare, tracciabile, autentico",
        "/partners": "<h1>Partner",
        "/products": "<h3>Borsa Aurora in pelle</h3>",  # the maker's Italian name
        "/match": "<h1>Match-making",
        "/factory": "<h1>Fabbrica a ciclo chiuso",
        "/spokes/2": "Progetti",
        "/projects/generative-bag": "Stato",
        "/materials/oak-timber": "Categoria",
        "/partners/maison-aurora": "Competenze",
        "/products/borsa-aurora": "Articoli serializzati",
        "/search?q=oak": "Cerca",
    }
    for path, text in headings.items():
        page = await client.get(path, params={"lang": "it"})
        assert page.status_code == 200, path
        assert text in page.text, path
        assert "Cruscotto" in page.text  # the navigation too
