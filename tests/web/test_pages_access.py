"""Pages show a signed-in key exactly what the API shows the same key, and nothing more.

For a key of every role (and partners of different places in the demo's supply chain),
the events listed by ``/events`` (all pages followed), the things drawn by ``/trace``
and the items of ``/trace/recall.csv`` are compared with ``/epcis/events`` and
``/api/trace`` called with that key as a Bearer token.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from tests.web.test_signin import sign_in

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.registry.api_keys import create_key

pytestmark = pytest.mark.anyio
LOT = "urn:epc:class:lgtin:8012345.000040.H26-011"
KEYS = (  # (partner, role)
    ("mics-operator", "operator"),
    ("maison-aurora", "authority"),
    ("conceria-del-brenta", "partner"),  # the tannery: the start of the bag's chain
    ("boutique-brera", "partner"),  # the shop: its end
    ("design-quercia", "partner"),  # furniture: none of the bag's events
    ("maison-aurora", "legitimate_interest"),
    ("maison-aurora", "witness"),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(demo_db: Database, tmp_path: Path) -> FastAPI:
    return create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mics.test")


async def _api_events(api: httpx.AsyncClient, key: str) -> set[str] | int:
    answer = await api.get("/epcis/events?perPage=1000", headers={"Authorization": f"Bearer {key}"})
    if answer.status_code != 200:
        return answer.status_code
    events = answer.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return {e["eventID"] for e in events}


async def _page_events(browser: httpx.AsyncClient) -> set[str] | int:
    seen: set[str] = set()
    url: str | None = "/events"
    while url:
        page = await browser.get(url)
        if page.status_code != 200:
            assert 'data-event-id="' not in page.text
            return page.status_code
        seen |= {html.unescape(i) for i in re.findall(r'data-event-id="([^"]+)"', page.text)}
        found = re.search(r'href="([^"]+)" id="next-page"', page.text)
        url = html.unescape(found.group(1)) if found else None
    return seen


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client(app) as client:
        yield client


@pytest.mark.parametrize(("partner", "role"), KEYS)
async def test_the_events_pages_list_exactly_the_events_the_api_gives_the_key(
    app: FastAPI, api: httpx.AsyncClient, demo_db: Database, partner: str, role: str
) -> None:
    key = create_key(demo_db, partner, role)
    expected = await _api_events(api, key)
    async with await _client(app) as browser:
        await sign_in(browser, key)
        shown = await _page_events(browser)
        assert shown == expected
        if isinstance(expected, set):
            everything = await _api_events(api, create_key(demo_db, "mics-operator", "operator"))
            assert isinstance(everything, set)
            assert len(everything) > 30  # the bag's chain, the chair's, custody's
            assert (partner in ("mics-operator", "maison-aurora")) == (expected == everything)
            for event_id in list(expected)[:3]:
                page = await browser.get(f"/events/event?id={quote(event_id, safe='')}")
                assert page.status_code == 200
                assert event_id in html.unescape(page.text)


@pytest.mark.parametrize(("partner", "role"), KEYS)
async def test_the_trace_page_draws_exactly_the_things_the_api_traces_for_the_key(
    app: FastAPI, api: httpx.AsyncClient, demo_db: Database, partner: str, role: str
) -> None:
    key = create_key(demo_db, partner, role)
    answer = await api.get(
        f"/api/trace/{LOT}/downstream", headers={"Authorization": f"Bearer {key}"}
    )
    async with await _client(app) as browser:
        await sign_in(browser, key)
        page = await browser.get(f"/trace?epc={quote(LOT)}&direction=downstream")
        csv_page = await browser.get(f"/trace/recall.csv?lot={quote(LOT)}")
    assert page.status_code == answer.status_code
    assert csv_page.status_code == answer.status_code
    if answer.status_code != 200:
        return
    nodes = {n["id"] for n in answer.json()["nodes"]}
    drawn = set(re.findall(r'<g class="node [^"]*"><title>([^<]+)</title>', page.text))
    assert drawn == (nodes if len(nodes) > 1 else set())  # a lone node is not drawn
    rows = list(csv.DictReader(io.StringIO(csv_page.text)))
    items = {n for n in nodes if "/21/" in n}
    assert {r["digital_link"] for r in rows} == items


async def test_a_partner_sees_the_trace_through_its_own_events_only(
    app: FastAPI, demo_db: Database
) -> None:
    """The tannery's key reaches the leather lot, not the bags sewn from it elsewhere."""
    tannery = create_key(demo_db, "conceria-del-brenta", "partner")
    operator = create_key(demo_db, "mics-operator", "operator")
    drawn = {}
    for name, key in (("tannery", tannery), ("operator", operator)):
        async with await _client(app) as browser:
            await sign_in(browser, key)
            page = await browser.get(f"/trace?epc={quote(LOT)}&direction=downstream")
            drawn[name] = set(re.findall(r"<title>(https://id\.gs1\.org/[^<]+)</title>", page.text))
    assert "https://id.gs1.org/01/08012345000418/10/LC26-07" in drawn["tannery"]
    assert not any("/21/BA0000" in uri for uri in drawn["tannery"])
    assert sum("/21/BA0000" in uri for uri in drawn["operator"]) == 5
