"""Footprint REST API and web page end to end through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.databases import Templates

from mics.api import create_app
from mics.config import Settings
from mics.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("api") / "demo.db")
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
    assert 0.0 < body["data_quality"] < 1.0  # public: a share of the GWP from checked figures
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
    assert 'id="data-quality"' in html
    assert "% from checked figures" in html
    # one script, the what-if panel's, shipped with the package: nothing fetched elsewhere
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/whatif.js" defer>']
    assert "https://" not in html.split("</header>")[1]
    for svg in html.split("<svg")[1:]:
        ET.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed
    product = await client.get("/products/pinza-robotica")
    assert 'href="/products/pinza-robotica/footprint"' in product.text
    assert 'id="mc-mean-median"' in html  # Monte Carlo mean and median
    assert "product of medians" in html
    assert "methodology 2019" in html.split('id="mci-method"')[1].split("</p>")[0]


# --- what anonymous callers may ask, and where Monte Carlo runs (issue 13, item 5) -------------

FOOTPRINT = "/api/products/borsa-aurora/footprint"


@pytest.fixture
def operator_key(demo: Database) -> str:
    from mics.registry.api_keys import create_key

    return create_key(demo, "mics-operator", "operator")


def _app(demo: Database, tmp_path: Path, **settings: Any) -> FastAPI:
    return create_app(Settings(database_url="sqlite://", home=tmp_path / "home", **settings), demo)


async def test_anonymous_callers_may_not_ask_for_more_than_the_public_monte_carlo(
    client: httpx.AsyncClient, operator_key: str
) -> None:
    from mics.api import compute

    over = compute.PUBLIC_WORK + 1
    response = await client.get(FOOTPRINT, params={"monte_carlo": over})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem = response.json()
    assert (problem["field"], problem["value"]) == ("monte_carlo", over)
    assert str(compute.PUBLIC_WORK) in problem["expected"].replace(",", "")
    keyed = await client.get(
        FOOTPRINT,
        params={"monte_carlo": over},
        headers={"Authorization": f"Bearer {operator_key}"},
    )
    assert keyed.status_code == 200
    assert keyed.json()["monte_carlo"]["iterations"] == over
    public = await client.get(FOOTPRINT, params={"monte_carlo": compute.PUBLIC_WORK})
    assert public.status_code == 200


async def test_alternatives_count_iterations_times_variants(
    client: httpx.AsyncClient, operator_key: str
) -> None:
    from mics.api import compute

    url = "/api/products/pinza-robotica/alternatives"  # two demo variants
    per_variant = compute.PUBLIC_WORK // 2 + 1
    anonymous = await client.get(url, params={"iterations": per_variant})
    assert anonymous.status_code == 401
    assert anonymous.json()["field"] == "iterations"
    assert anonymous.json()["value"] == per_variant
    keyed = {"Authorization": f"Bearer {operator_key}"}
    too_much = await client.get(url, params={"iterations": 20_000}, headers=keyed)
    assert too_much.status_code == 422
    assert too_much.json()["field"] == "iterations"
    assert "40000" in too_much.json()["detail"].replace(",", "")
    many = [("variant", f"lifetime={n}") for n in range(1, compute.MAX_VARIANTS + 2)]
    refused = await client.get(url, params=[*many, ("iterations", 0)], headers=keyed)
    assert refused.status_code == 422
    assert refused.json()["field"] == "variant"


async def test_monte_carlo_runs_on_workers_of_their_own_and_a_full_pool_answers_503(
    demo: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operator_key: str
) -> None:
    from mics.api import compute
    from mics.footprint import assessment, service

    started, release = threading.Event(), threading.Event()
    threads: list[str] = []
    real = assessment.footprint

    def held(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("monte_carlo_iterations"):
            threads.append(threading.current_thread().name)
            started.set()
            release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(assessment, "footprint", held)
    # Results are kept per process: another test in this process may have run the same
    # Monte Carlo, which would then be recalled without reaching ``held``.
    monkeypatch.setattr(service, "_kept", OrderedDict())
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "home"))
    app = _app(demo, tmp_path, compute_workers=1)
    keyed = {"Authorization": f"Bearer {operator_key}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:

        def get(seed: int, headers: dict[str, str] | None = None) -> Any:
            params = {"monte_carlo": 100, "seed": seed}
            return asyncio.create_task(client.get(FOOTPRINT, params=params, headers=headers))

        try:
            running = [get(1, keyed)]
            deadline = time.monotonic() + 60
            while not started.is_set():
                assert time.monotonic() < deadline, "the keyed Monte Carlo never started"
                await asyncio.sleep(0.01)
            busy = await client.get(FOOTPRINT, params={"monte_carlo": 100, "seed": 2})
            assert busy.status_code == 503  # anonymous runs never wait in the queue
            assert busy.headers["retry-after"] == str(compute.RETRY_AFTER_S)
            assert busy.headers["content-type"] == "application/problem+json"
            running += [get(3 + n, keyed) for n in range(compute.QUEUE)]
            pool: compute.ComputePool = app.state.compute
            while pool.taken < 1 + compute.QUEUE:
                assert time.monotonic() < deadline, f"{pool.taken} runs taken"
                await asyncio.sleep(0.01)
            full = await client.get(
                FOOTPRINT, params={"monte_carlo": 100, "seed": 9}, headers=keyed
            )
            assert full.status_code == 503
            # meanwhile what needs no Monte Carlo, and every other route, answers
            assert (await client.get(FOOTPRINT)).status_code == 200
            assert (await client.get("/health")).status_code == 200
        finally:
            release.set()
        answers = await asyncio.gather(*running)
    assert [a.status_code for a in answers] == [200] * (1 + compute.QUEUE)
    assert threads
    assert all(name.startswith("mics-compute") for name in threads), threads
    assert pool.taken == 0


async def test_the_page_asks_no_more_than_an_anonymous_caller_may(
    client: httpx.AsyncClient,
) -> None:
    from mics.api import compute

    page = "/products/pinza-robotica/footprint"
    refused = await client.get(page, params={"monte_carlo": compute.PUBLIC_WORK + 1})
    assert refused.status_code == 422
    assert refused.json()["field"] == "monte_carlo"


async def test_grid_scenario_lowers_the_gripper_use_phase_and_bad_names_are_problems(
    client: httpx.AsyncClient,
) -> None:
    url = "/api/products/pinza-robotica/footprint"
    today = (await client.get(url)).json()
    pniec = (await client.get(url, params={"grid_scenario": "pniec-2030"})).json()
    assert pniec["grid_scenario"] == "pniec-2030"
    assert pniec["by_stage"]["use"] == pytest.approx(0.70 * today["by_stage"]["use"])
    assert today["grid_scenario"] is None
    bad = await client.get(url, params={"grid_scenario": "bogus"})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "bogus" in bad.text
    circ = (await client.get("/api/products/sedia-quercia/circularity")).json()
    assert "2019" in circ["mci_method"]
