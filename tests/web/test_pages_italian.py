"""Issue 21 item 7: the events, trace, recall, transparency-log, chain-of-custody and
sign-in pages read in Italian with ``?lang=it`` (words only the translation gives)."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.templating import Jinja2Templates
from tests.web.test_signin import sign_in

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.registry.api_keys import create_key
from mics.web import i18n, templates_dir

pytestmark = pytest.mark.anyio
LOT = "urn:epc:class:lgtin:8012345.000040.H26-011"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def browser(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        await sign_in(client, create_key(demo_db, "mics-operator", "operator"))
        yield client


async def _italian(browser: httpx.AsyncClient, path: str) -> str:
    page = await browser.get(f"{path}{'&' if '?' in path else '?'}lang=it")
    assert page.status_code == 200, path
    return html.unescape(page.text)


async def test_the_events_trace_log_and_custody_pages_read_in_italian(
    browser: httpx.AsyncClient,
) -> None:
    events = await _italian(browser, "/events")
    assert "Qualsiasi fase di business" in events
    assert "Any business step" not in events
    assert "Prova di inclusione" in events  # on every event card
    assert 'gli eventi che la tua chiave <span class="pill">operator</span> può leggere' in events

    trace = await _italian(browser, f"/trace?epc={quote(LOT)}&direction=downstream")
    assert "A valle di" in trace
    assert "Cronologia" in trace
    assert "Timeline" not in trace
    assert 'aria-label="che cosa è stato fatto con che cosa"' in trace  # the graph's name

    recall = await _italian(browser, f"/trace/recall?lot={quote(LOT)}")
    assert "Richiamo: quali articoli contengono un lotto?" in recall
    assert "Esporta CSV" in recall
    assert "Export CSV" not in recall

    log = await _italian(browser, "/log")
    assert "Ultimo checkpoint" in log
    assert "Verifica la prova di inclusione di un evento" in log
    assert "Latest checkpoint" not in log

    custody = await _italian(browser, "/custody")
    assert "Contenuto riciclato e a base biologica che puoi dimostrare" in custody
    site = await _italian(browser, "/custody/sites/orafi-aretini")
    assert "Saldo iniziale" in site
    assert "Riconciliazione: giacenza contabile" in site
    assert "Opening balance" not in site

    signin = await _italian(browser, "/signin")
    assert "Accesso effettuato come <b>" in signin
    assert 'con una chiave <span class="pill">operator' in signin
    assert "Signed in as" not in signin

    english = html.unescape((await browser.get("/log?lang=en")).text)
    assert "Latest checkpoint" in english
    assert "Ultimo checkpoint" not in english


async def test_a_refused_page_says_why_in_italian(demo_db: Database, tmp_path: Path) -> None:
    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        page = await client.get("/events?lang=it")
    assert page.status_code == 401
    assert "Accedi per vedere gli eventi." in page.text
    assert "<h1>Eventi</h1>" in page.text


def test_a_markup_field_stays_markup_and_everything_else_is_escaped() -> None:
    env = i18n.install(Jinja2Templates(directory=templates_dir())).env
    page = env.from_string(
        '{% set role %}<span class="pill">{{ r }}</span>{% endset %}'
        "{{ _('Signed in as {partner} with a {role} key.', partner=p, role=role) }}"
    )
    text = page.render(lang="it", r="operator", p="<Rossi & C>")
    assert text == (
        "Accesso effettuato come &lt;Rossi &amp; C&gt; con una chiave "
        '<span class="pill">operator</span>.'
    )
