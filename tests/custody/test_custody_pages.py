"""The custody pages: a site's balance per period and its Sankey, public figures only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.custody import reports, service
from mics.custody.sankey import svg
from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(demo_db, tmp_path / "var", url="http://m.test") as c:
        yield c


async def test_the_site_page_shows_the_balance_and_a_sankey(
    client: httpx.AsyncClient, demo_db: Database
) -> None:
    index = await client.get("/custody")
    assert 'href="/custody/sites/orafi-aretini"' in index.text
    page = await client.get("/custody/sites/orafi-aretini")
    assert page.status_code == 200
    assert "<strong>2026Q3</strong>" in page.text  # the latest period with entries
    assert '<svg class="chart sankey"' in page.text
    assert "recycled input · 0.2 kg" in page.text
    assert "urn:uuid:" not in page.text  # no event ids for the public
    assert "https://certificates.example" not in page.text
    gold = reports.balances(demo_db, "orafi-aretini", "2026Q3")[0]
    assert f"{gold.closing_kg:.6g} kg" in page.text
    assert "0.0028125 kg on 1 item)" in page.text  # a ring's claim: 3.75 g of gold x 75 %
    assert "built-in method" not in page.text  # a claim's item count, not dict.items


def test_sankey_band_widths_follow_the_kilograms(demo_db: Database) -> None:
    gold = service.accounts(demo_db, "orafi-aretini")[0]
    bands = reports.flows(demo_db, gold, "2026Q3")
    by_pair = {(b.source, b.target): b for b in bands}
    assert by_pair[("recycled input", "casting")].kg == pytest.approx(0.03)
    assert by_pair[("mined input", "casting")].share == 0.0
    assert by_pair[("casting", "cast-rings")].share == pytest.approx(0.75)
    drawn = svg(bands, "gold")
    widths = {
        float(part.split('stroke-width="')[1].split('"')[0]) for part in drawn.split("<path")[1:]
    }
    assert max(widths) / min(widths) > 10  # 0.2 kg of stock against grams of scrap


async def test_the_ring_passport_page_shows_its_claim_without_event_ids(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/passport/08012345000708/AF0001")
    assert page.status_code == 200
    assert 'id="custody"' in page.text
    assert "RJC Chain-of-Custody: 75% recycled gold (controlled blending)" in page.text
    assert "4 events behind the claim" in page.text
    assert "urn:uuid:" not in page.text
    bag = await client.get("/passport/08012345000012/BA00001")
    assert 'id="custody"' not in bag.text
