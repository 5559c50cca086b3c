"""Powder genealogy: recycling as valid EPCIS 2.0 TransformationEvents, captured and logged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.factory.support import loop_scenario
from tests.support import run_mics

from mics.db import Database
from mics.factory import genealogy, load
from mics.factory.service import record_genealogy
from mics.factory.simulation import Recycling, simulate
from mics.registry.schemas import PartnerIn
from mics.registry.service import create_partner
from mics.trace.store import EventRow
from mics.trace.validate import validate_document

START = datetime(2020, 1, 1, tzinfo=UTC)


def test_each_day_of_recycling_is_one_valid_transformation_event() -> None:
    quality = "oxygen_wt_pct = 0.10\noxygen_pickup_per_cycle = 0.01\noxygen_limit_wt_pct = 0.13"
    scenario = loop_scenario(yield_=0.9, life_days=2.0, quality=quality, horizon_days=30.0)
    log: list[Recycling] = []
    simulate(scenario, record=log)
    found = genealogy.events(scenario, log, START)
    assert len(found) == len({int(b.day) for b in log})
    assert validate_document(genealogy.document(found, START)) == found
    first = found[0]
    # day 3: the first part (1 kg, virgin, ordered on day 1, 2 days in service) comes back
    # and 0.9 kg of loop-1 powder comes out; day 0 is 2020-01-01, so day 3 is 2020-01-04
    assert first["eventTime"] == "2020-01-04T23:59:59Z"
    assert first["inputQuantityList"] == [
        {"epcClass": genealogy.lot_class("loop", "m", 0), "quantity": 1.0, "uom": "KGM"}
    ]
    assert first["outputQuantityList"] == [
        {"epcClass": genealogy.lot_class("loop", "m", 1), "quantity": 0.9, "uom": "KGM"}
    ]
    assert first["ilmd"]["mics:loopCount"] == 1.0
    assert first["ilmd"]["mics:oxygenWtPct"] == pytest.approx(0.11)
    assert first["ilmd"]["mics:lostKg"] == pytest.approx(0.1)
    # every kg in comes out, is lost, or is retired for quality (loop 3 -> 4 passes 0.13)
    for event in found:
        kg_in = sum(q["quantity"] for q in event["inputQuantityList"])
        kg_out = sum(q["quantity"] for q in event["outputQuantityList"])
        ilmd = event["ilmd"]
        assert kg_out + ilmd["mics:lostKg"] + ilmd["mics:retiredKg"] == pytest.approx(kg_in)
        assert all(not q["epcClass"].endswith("/loop/4") for q in event["outputQuantityList"])
    assert any(e["ilmd"]["mics:retiredKg"] > 0 for e in found)


def test_recorded_run_is_captured_into_the_repository(db: Database) -> None:
    create_partner(
        db, PartnerIn(id="officina-orbitale", name="Officina", kind="enterprise", is_public=False)
    )
    scenario = load("space-station").with_horizon(20.0)
    log: list[Recycling] = []
    result = simulate(scenario, record=log)
    capture_id, count = record_genealogy(
        db, scenario, log, "officina-orbitale", end_day=result.end_day
    )
    assert capture_id is not None
    assert count == len(genealogy.events(scenario, log, START)) > 0
    with db.read() as session:
        stored = session.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.capture_id == capture_id)
        )
    assert stored == count


def test_cli_record_needs_a_partner_and_captures(tmp_path: Path) -> None:
    refused = run_mics(tmp_path, "factory", "simulate", "space-station", "--record")
    assert refused.returncode == 1
    assert "--partner" in refused.stderr
    db = Database.from_url(f"sqlite:///{tmp_path / 'cli.db'}")
    db.upgrade()
    create_partner(
        db, PartnerIn(id="officina-orbitale", name="Officina", kind="enterprise", is_public=False)
    )
    db.dispose()
    out = run_mics(
        tmp_path,
        "factory",
        "simulate",
        "space-station",
        "--horizon",
        "15",
        "--record",
        "--partner",
        "officina-orbitale",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    recorded = json.loads(out.stdout)["genealogy"]
    assert recorded["events"] > 0
    assert f"recorded {recorded['events']} TransformationEvents" in out.stderr
