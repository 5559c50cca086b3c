"""``/api/factory/simulations`` end to end through httpx ASGI (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.factory.test_scenario import MINIMAL

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.factory import service
from mics.registry.api_keys import create_key
from mics.registry.schemas import PartnerIn
from mics.registry.service import create_partner

pytestmark = pytest.mark.anyio
URL = "/api/factory/simulations"


@pytest.fixture
async def site(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]]]]:
    monkeypatch.setenv("MICS_HOME", str(tmp_path / "home"))
    for partner in ("officina-orbitale", "altra-officina"):
        create_partner(db, PartnerIn(id=partner, name=partner, kind="enterprise", is_public=False))
    keys = {
        "own": create_key(db, "officina-orbitale", "partner"),
        "other": create_key(db, "altra-officina", "partner"),
        "authority": create_key(db, "officina-orbitale", "authority"),
    }
    headers = {role: {"Authorization": f"Bearer {key}"} for role, key in keys.items()}
    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "home"), db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        yield client, headers


async def test_a_shipped_scenario_runs_as_a_job(
    site: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = site
    posted = await client.post(
        URL,
        json={"scenario": "space-station", "horizon_days": 200, "seed": 4},
        headers=headers["own"],
    )
    assert posted.status_code == 202, posted.text
    location = posted.headers["location"]
    assert location == f"{URL}/{posted.json()['id']}"
    assert posted.json()["status"] == "queued"
    done = await client.get(location, headers=headers["own"])
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "done", body
    assert (body["seed"], body["horizon_days"]) == (4, 200.0)
    result = body["result"]
    assert result["scenario"] == "space-station"
    assert result["end_day"] == 200.0
    assert result["mass_balance_error_kg"] <= 1e-9
    assert result["delivered_parts"] > 0
    # another partner does not learn the run exists; keys of other roles are refused
    assert (await client.get(location, headers=headers["other"])).status_code == 404
    assert (await client.get(location, headers=headers["authority"])).status_code == 403
    assert (await client.get(location)).status_code == 401


async def test_bad_scenario_is_a_422_naming_the_key_and_nothing_is_stored(
    site: tuple[httpx.AsyncClient, dict[str, dict[str, str]]], db: Database
) -> None:
    client, headers = site
    bad = MINIMAL.replace("kg_per_hour = 1", "kg_per_hour = 1\nkg_per_hr = 2")
    answer = await client.post(URL, json={"toml": bad}, headers=headers["own"])
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["field"] == "recycler[0].kg_per_hr"
    assert "did you mean 'kg_per_hour'" in problem["detail"]
    from sqlalchemy import func, select

    from mics.factory.store import FactoryRunRow

    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(FactoryRunRow)) == 0


async def test_a_submitted_scenario_may_not_name_a_server_file(
    site: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = site
    text = MINIMAL.replace("bbox_mm = [50, 50, 20]", 'mesh = "/etc/passwd"')
    answer = await client.post(URL, json={"toml": text}, headers=headers["own"])
    assert answer.status_code == 422
    assert answer.json()["field"] == "part[0].mesh"


async def test_runs_in_flight_are_bounded_per_partner(
    site: tuple[httpx.AsyncClient, dict[str, dict[str, str]]], db: Database
) -> None:
    client, headers = site
    for _ in range(service.MAX_ACTIVE_RUNS):  # queued, not executed: they stay in flight
        service.submit(db, "officina-orbitale", toml=MINIMAL)
    refused = await client.post(URL, json={"toml": MINIMAL}, headers=headers["own"])
    assert refused.status_code == 409
    assert str(service.MAX_ACTIVE_RUNS) in refused.json()["detail"]
    other = await client.post(URL, json={"toml": MINIMAL}, headers=headers["other"])
    assert other.status_code == 202


async def test_anonymous_callers_cannot_start_runs(
    site: tuple[httpx.AsyncClient, dict[str, dict[str, str]]],
) -> None:
    client, headers = site
    assert (await client.post(URL, json={"scenario": "space-station"})).status_code == 401
    refused = await client.post(
        URL, json={"scenario": "space-station"}, headers=headers["authority"]
    )
    assert refused.status_code == 403


def test_event_budget_stops_a_run(db: Database) -> None:
    from mics.factory import load
    from mics.factory.simulation import simulate

    result = simulate(load("space-station"), max_events=500)
    assert result.events == 500
    assert result.stopped == "the budget of 500 events was reached"


def test_runs_lost_an_hour_ago_no_longer_count(db: Database) -> None:
    from datetime import timedelta

    from mics.factory.store import FactoryRunRow

    create_partner(db, PartnerIn(id="officina", name="o", kind="enterprise", is_public=False))
    for _ in range(service.MAX_ACTIVE_RUNS):
        service.submit(db, "officina", toml=MINIMAL)
    with db.transaction() as session:
        for row in session.query(FactoryRunRow):
            row.status = "running"
            row.created_at = row.created_at - service.STALE_AFTER - timedelta(minutes=1)
    assert service.submit(db, "officina", toml=MINIMAL).status == "queued"
