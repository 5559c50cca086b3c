"""Footprint REST API and web page end to end through httpx's ASGI transport."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from mics.api import create_app
from mics.config import Settings
from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from mics.demo import load_demo

    db = Database.from_url(f"sqlite:///{tmp_path_factory.mktemp('api') / 'demo.db'}")
    db.upgrade()
    load_demo(db)
    yield db
    db.dispose()


@pytest.fixture
async def client(
    demo: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "home"))
    app = create_app(Settings(database_url="sqlite://"), demo)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        yield c


async def test_footprint_json_has_the_fixed_keys_and_stages_sum(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/products/borsa-aurora/footprint", params={"monte_carlo": 100, "cutoff": 0.05}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["product"] == "borsa-aurora"
    assert sum(body["by_stage"].values()) == pytest.approx(body["gwp100"])
    low, high = body["gwp100_interval"]
    assert low < body["monte_carlo"]["median"] < high
    assert body["contributions"]["cutoff"] == 0.05
    assert all(c["share"] >= 0.05 for c in body["contributions"]["direct"])
    assert body["contributions"]["tree"][0]["children"]
    assert (
        "gwp100_interval" not in (await client.get("/api/products/borsa-aurora/footprint")).json()
    )


async def test_circularity_and_alternatives(client: httpx.AsyncClient) -> None:
    circ = (await client.get("/api/products/08012345000111/circularity")).json()
    assert circ["product"] == "sedia-quercia"
    assert 0 < circ["mci"] < 1
    assert circ["bio_based_content"] > 0.9
    assert {m["material"] for m in circ["cff"]["materials"]} >= {"oak-timber", "beech-timber"}
    alts = (
        await client.get(
            "/api/products/pinza-robotica/alternatives",
            params=[
                ("variant", "recycled-aluminium"),
                ("variant", "lifetime=12"),
                ("iterations", 50),
            ],
        )
    ).json()["alternatives"]
    assert [a["variant"] for a in alts] == ["recycled-aluminium", "lifetime=12"]
    assert alts[0]["delta"]["gwp100"] < 0
    assert alts[0]["significant"] is True
    assert alts[1]["alternative"]["lifetime_years"] == 12
    demo = (await client.get("/api/products/sedia-quercia/alternatives")).json()["alternatives"]
    assert [a["variant"] for a in demo] == ["longer-life"]


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/products/nope/footprint", 404, "product"),
        ("/api/products/nope/circularity", 404, "product"),
        ("/api/products/borsa-aurora/footprint?monte_carlo=1", 422, "monte_carlo"),
        ("/api/products/borsa-aurora/footprint?cutoff=1.5", 422, "cutoff"),
        (
            "/api/products/borsa-aurora/alternatives?variant=lifetime=-2",
            422,
            "variant.lifetime_years",
        ),
        ("/api/products/borsa-aurora/alternatives?variant=cheaper", 404, "variant"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, url: str, status: int, field: str
) -> None:
    response = await client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


async def test_footprint_page_draws_svg_charts(client: httpx.AsyncClient) -> None:
    response = await client.get("/products/pinza-robotica/footprint", params={"monte_carlo": 50})
    assert response.status_code == 200
    html = response.text
    for stage in ("materials", "manufacturing", "use"):
        assert f'<rect class="stage-{stage}"' in html
    assert 'class="chart gauge"' in html
    assert 'class="gauge-value"' in html
    assert 'class="bar-variant"' in html
    assert "recycled-aluminium" in html
    assert 'id="contributions"' in html
    assert "electricity, grid mix" in html
    assert "<script" not in html
    assert "https://" not in html.split("</header>")[1]
    for svg in html.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed
    product = await client.get("/products/pinza-robotica")
    assert 'href="/products/pinza-robotica/footprint"' in product.text
