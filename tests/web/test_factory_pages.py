"""``/factory`` pages: pick or paste a scenario, read the run's answer and charts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from tests.factory.test_scenario import MINIMAL
from tests.support import app_client

from mics.db import Database
from mics.web import factory_pages

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "home"))
    async with app_client(sqlite_db, tmp_path / "home") as c:
        yield c


async def test_index_offers_the_shipped_scenarios(client: httpx.AsyncClient) -> None:
    page = await client.get("/factory")
    assert page.status_code == 200
    for name in ("space-station", "jewellery-workshop", "furniture-hardware"):
        assert f'value="{name}"' in page.text


async def test_space_station_page_answers_days_without_resupply(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/factory/run", params={"scenario": "space-station"})
    assert page.status_code == 200
    assert "days</strong> until the first demand could not be met" in page.text
    assert page.text.count("<svg") >= 5  # stock, flows, losses, energy, utilisation
    assert "recycled feedstock" in page.text  # the Sankey's loop
    assert "<script" not in page.text


async def test_pasted_scenario_runs_and_bad_one_names_the_key(
    client: httpx.AsyncClient,
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    page = await client.post("/factory/run", content=urlencode({"toml": MINIMAL}), headers=form)
    assert page.status_code == 200
    assert '<h1>t <small class="muted">seed 0</small></h1>' in page.text
    bad = MINIMAL.replace("mass_kg = 0.1", "mass_kg = -0.1")
    refused = await client.post("/factory/run", content=urlencode({"toml": bad}), headers=form)
    assert refused.status_code == 422
    assert "part[0].mass_kg" in refused.text


async def test_a_second_web_run_at_once_is_refused(client: httpx.AsyncClient) -> None:
    assert factory_pages._one_at_a_time.acquire(blocking=False)
    try:
        busy = await client.post("/factory/run", json={"toml": MINIMAL})
        assert busy.status_code == 503
    finally:
        factory_pages._one_at_a_time.release()


async def test_the_index_reads_in_italian_without_english_labels(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/factory", params={"lang": "it"})
    assert page.status_code == 200
    assert page.text.count(">Esegui</button>") == 2
    assert 'placeholder="seme (quello dello scenario)"' in page.text
    assert "furniture-hardware (730 giorni, rifornimento on shortage)" in page.text
    for english in (">Run<", "Seed", "Horizon (days)", "the scenario's", " days, resupply"):
        assert english not in page.text, english
    assert "issue 15" not in page.text  # a newcomer has no issue tracker to look it up in
