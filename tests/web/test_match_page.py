"""The match-making page and the spoke links of the dashboard, as HTML over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database
from mics.web.match_pages import marked

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo_registry: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_registry, tmp_path / "var") as c:
        yield c


def test_marked_flags_the_matched_words_whole_and_in_any_case() -> None:
    assert marked("Presa Robotica robotic", ("robotica",)) == [
        ("Presa ", False),
        ("Robotica", True),
        (" robotic", False),
    ]
    assert marked("leather", ()) == [("leather", False)]


async def test_the_page_lists_partners_with_highlighted_reasons_and_a_consortium(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/match", params={"q": "pinza robotica stampata", "team": "1"})
    assert page.status_code == 200
    html = page.text
    assert '<ol class="matches" id="matches">' in html
    assert "<mark>robotica</mark>" in html
    assert 'id="consortium"' in html
    assert "Presa Robotica S.p.A. (example)" in html


async def test_a_bad_spoke_shows_a_problem_and_a_422(client: httpx.AsyncClient) -> None:
    page = await client.get("/match", params={"q": "leather", "spoke": "nine"})
    assert page.status_code == 422
    assert 'id="match-error"' in page.text
    assert "spoke" in page.text


async def test_spoke_cards_lead_to_the_spokes_projects_and_partners(
    client: httpx.AsyncClient,
) -> None:
    dashboard = (await client.get("/")).text
    assert '<a class="spoke-card" href="/spokes/6">' in dashboard
    for page in (
        (await client.get("/spokes/6")).text,
        (await client.get("/partners", params={"spoke": "6"})).text,
    ):
        assert "Re-atomisation and reuse of Ti-6Al-4V powder" in page
        assert "Printed lightweight gripper fingers" in page
        assert "Additiva Stampa 3D" in page
        assert "Conceria del Brenta" not in page  # spokes 3 and 5, not 6
