"""The passport page: banner, sections, languages (through the ASGI app)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from tests.databases import Templates
from tests.support import app_client

from mics.db import Database
from mics.web.passport_pages import banner, choose_language, footprint_bar

BAG = "08012345000012"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("pages") / "p.db")
    yield db
    db.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo, tmp_path / "var") as c:
        yield c


def _request(query: str = "", accept: str = "") -> Request:
    headers = [(b"accept-language", accept.encode())] if accept else []
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": query.encode(),
        "headers": headers,
    }
    return Request(scope)


def test_language_from_query_then_accept_language() -> None:
    assert choose_language(_request("lang=it")) == "it"
    assert choose_language(_request("lang=fr", "it-IT,it;q=0.9,en;q=0.8")) == "it"
    assert choose_language(_request("", "de-DE, en;q=0.5, it;q=0.7")) == "it"
    assert choose_language(_request("", "it;q=0, en")) == "en"
    assert choose_language(_request("", "de, fr")) == "en"


def test_banner_prefers_the_scan_then_lost_reports_then_the_last_verdict() -> None:
    passport = {
        "authenticity": {"verdict": "authentic", "checkedAt": "2026-06-01T09:00:00Z"},
        "ownership": {"lostOrStolen": False},
    }
    assert banner(passport, None)["css"] == "ok"
    assert banner(passport, None)["checked_at"] == "2026-06-01T09:00:00Z"
    assert banner(passport, {"verdict": "replay", "reason": "counter"})["key"] == "replay"
    stolen = passport | {"ownership": {"lostOrStolen": True, "report": "stolen"}}
    assert banner(stolen, {"verdict": "authentic"})["verdict"] == "stolen"
    assert banner({}, None) | {} == {
        "css": "neutral",
        "key": "unverified",
        "verdict": "unverified",
        "checked_at": None,
        "reason": None,
    }


def test_footprint_bar_shares_sum_to_one() -> None:
    bar = footprint_bar({"byStage": {"materials": 3.0, "use": 1.0, "end_of_life": 0.0}})
    assert [round(s["share"], 2) for s in bar] == [0.75, 0.25, 0.0]


@pytest.mark.anyio
async def test_page_shows_every_section_in_english_by_default(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/passport/{BAG}/BA00001")
    assert page.status_code == 200
    assert page.headers["content-language"] == "en"
    html = page.text
    assert '<h1 id="product-name">Borsa Aurora leather handbag</h1>' in html
    assert 'data-verdict="unverified"' in html
    for section in ("materials", "provenance", "footprint", "repair", "recycling", "ownership"):
        assert f'id="{section}"' in html
    assert "Arzignano (IT)" in html
    assert "Bovine leather, chrome tanned" in html
    assert "authorised repairers" in html
    assert "Where it comes from" in html
    assert "conceria-del-brenta" not in html
    assert "PO-" not in html


@pytest.mark.anyio
async def test_page_speaks_italian_on_request(client: httpx.AsyncClient) -> None:
    by_query = await client.get(f"/passport/{BAG}/BA00001", params={"lang": "it"})
    by_header = await client.get(
        f"/passport/{BAG}/BA00001", headers={"Accept-Language": "it-IT,it;q=0.9"}
    )
    for page in (by_query, by_header):
        assert page.headers["content-language"] == "it"
        assert "Da dove viene" in page.text
        assert "Materiali" in page.text
        assert '<html lang="it">' in page.text


@pytest.mark.anyio
async def test_unknown_item_page_is_a_404_problem(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/passport/{BAG}/NOPE1")
    assert page.status_code == 404
    assert page.headers["content-type"] == "application/problem+json"
    bad = await client.get("/passport/08012345000013/BA00001")
    assert bad.status_code == 422
    assert bad.json()["field"] == "gtin"


@pytest.mark.anyio
async def test_did_document_names_the_key_that_signs_passports(
    client: httpx.AsyncClient, demo: Database
) -> None:
    assert (await client.get("/partners/maison-aurora/did.json")).status_code == 404
    credential = (await client.get("/api/items/1/credential")).json()
    did = (await client.get("/partners/maison-aurora/did.json")).json()
    assert did["id"] == credential["issuer"]["id"]
    assert did["assertionMethod"] == [credential["proof"]["verificationMethod"]]


@pytest.mark.anyio
async def test_the_italian_page_says_which_texts_are_in_english(
    client: httpx.AsyncClient,
) -> None:
    gripper = await client.get("/passport/01/08012345000258/21/PR00001?lang=it")
    assert "Pinza robotica R2" in gripper.text
    assert 'id="untranslated"' in gripper.text
    assert "non ne è stata fornita la traduzione" in gripper.text
    bag = await client.get(f"/passport/01/{BAG}/21/BA00001?lang=it")
    assert "Borsa Aurora in pelle" in bag.text
    assert 'id="untranslated"' not in bag.text
