"""The events pages end to end through the app: upload (JSON-LD and XML), the capture job,
an event's card with its hash and raw forms, and a bad filter named on the page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from tests.support import epcis_document
from tests.web.test_signin import sign_in, token_of

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.registry.api_keys import create_key
from mics.trace.event_hash import event_hash
from mics.trace.xml_binding import to_xml

pytestmark = pytest.mark.anyio
BAG = "https://id.gs1.org/01/08012345000012/21/BA00001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def browser(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        await sign_in(client, create_key(demo_db, "maison-aurora", "partner"))
        yield client


def _event(day: int, step: str = "inspecting") -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-07-{day:02d}T10:00:00+02:00",
        "eventTimeZoneOffset": "+02:00",
        "epcList": [BAG],
        "action": "OBSERVE",
        "bizStep": step,
    }


async def _upload(browser: httpx.AsyncClient, text: str, behaviour: str) -> httpx.Response:
    page = await browser.get("/events/upload")
    form = {"csrf": token_of(page.text), "document": text, "behaviour": behaviour}
    return await browser.post("/events/upload", data=form)


async def test_an_upload_that_proceeds_stores_the_good_events_and_lists_the_bad_one(
    browser: httpx.AsyncClient,
) -> None:
    document = epcis_document([_event(1), _event(2, "dancing"), _event(3)])
    answer = await _upload(browser, json.dumps(document), "proceed")
    assert answer.status_code == 303
    job = await browser.get(answer.headers["location"])
    assert re.search(r'id="captured">2<', job.text)
    problems = html.unescape(job.text[job.text.index("<h2>Problems") :])
    assert "Event 2" in problems
    assert "Event 1" not in problems
    assert "/bizStep" in problems
    listed = await browser.get("/events?step=inspecting")
    assert listed.text.count('data-event-id="') == 2


async def test_an_xml_document_is_captured_from_the_form_as_from_the_api(
    browser: httpx.AsyncClient,
) -> None:
    xml = to_xml(epcis_document([_event(4, "repairing")])).decode()
    answer = await _upload(browser, xml, "rollback")
    assert answer.status_code == 303
    job = await browser.get(answer.headers["location"])
    assert re.search(r'id="captured">1<', job.text)
    assert "refused" not in job.text


async def test_a_refused_upload_shows_each_problem_at_its_event_and_field(
    browser: httpx.AsyncClient,
) -> None:
    document = epcis_document([_event(5), _event(6) | {"eventTime": "yesterday"}])
    answer = await _upload(browser, json.dumps(document), "rollback")
    assert answer.status_code == 422
    shown = html.unescape(answer.text)
    block = shown[shown.index('data-event-index="1"') :]
    assert "Event 2" in block
    assert "/eventTime" in block
    assert "yesterday" in block
    empty = await _upload(browser, "  ", "rollback")
    assert (empty.status_code, "no document to capture" in empty.text) == (422, True)
    listed = await browser.get("/events?epc=" + quote(BAG, safe=""))
    assert "2026-07-05" not in listed.text


async def test_an_events_page_shows_the_cbv_hash_the_json_ld_and_the_xml(
    browser: httpx.AsyncClient,
) -> None:
    event = _event(7, "receiving")
    await _upload(browser, json.dumps(epcis_document([event])), "rollback")
    digest = event_hash(event, epcis_document([])["@context"])
    page = await browser.get(f"/events/event?id={quote(digest, safe='')}")
    assert page.status_code == 200
    shown = html.unescape(page.text)
    assert re.search(rf'id="event-hash">{re.escape(digest)}<', shown)
    assert '"bizStep": "receiving"' in shown
    assert "<bizStep>https://ref.gs1.org/cbv/BizStep-receiving</bizStep>" in shown
    assert f"/log?event={quote(digest)}" in page.text


async def test_a_bad_filter_is_named_on_the_page(browser: httpx.AsyncClient) -> None:
    page = await browser.get("/events?from=last+tuesday")
    assert page.status_code == 422
    assert "GE_eventTime" in html.unescape(page.text)
    assert 'data-event-id="' not in page.text


async def test_a_bad_identifier_is_named_on_the_trace_and_recall_pages(
    browser: httpx.AsyncClient,
) -> None:
    trace = await browser.get("/trace?epc=just-words")
    assert trace.status_code == 422
    assert "epc: not an identifier MICS can trace" in html.unescape(trace.text)
    sideways = await browser.get(f"/trace?epc={quote(BAG, safe='')}&direction=sideways")
    assert (sideways.status_code, "direction: unknown direction" in sideways.text) == (422, True)
    recall = await browser.get(f"/trace/recall?lot={quote(BAG, safe='')}")
    assert recall.status_code == 422
    assert "lot: not a lot" in html.unescape(recall.text)
    assert "<svg" not in trace.text


@pytest.mark.parametrize(
    ("path", "alert", "says"),
    [
        ("/trace?epc=just-words", "trace-error", "epc: not an identifier MICS can trace"),
        ("/trace/recall?lot=H26-011", "recall-error", "lot: not a lot"),
        ("/events?from=last+tuesday", "events-error", "GE_eventTime: "),
    ],
)
async def test_a_problem_on_the_page_names_its_field_once(
    browser: httpx.AsyncClient, path: str, alert: str, says: str
) -> None:
    page = await browser.get(path)
    assert page.status_code == 422
    shown = re.search(rf'id="{alert}">(.*?)</p>', html.unescape(page.text), re.S)
    assert shown is not None, page.text
    field = says.split(":")[0]
    assert shown.group(1).startswith(says)
    assert f"{field}: {field}:" not in shown.group(1)
