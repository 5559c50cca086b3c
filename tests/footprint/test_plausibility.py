"""Demo footprints against published product footprints (issue 17 item 8; data/plausibility.csv).

A range that fails is a finding about the inventory, not a test to loosen: the chair's
cradle-to-gate figure is far below the two published hardwood chairs, so that test is
an expected failure until the workshop and drying energy are checked.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from importlib.resources import files

import pytest

from mics.db import Database
from mics.footprint import service

REFERENCES = {
    r["subject"]: r
    for r in csv.DictReader(
        files("mics.footprint").joinpath("data/plausibility.csv").read_text("utf-8").splitlines()
    )
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from mics.demo import load_demo

    db = Database.from_url(f"sqlite:///{tmp_path_factory.mktemp('pl') / 'demo.db'}")
    db.upgrade()
    load_demo(db)
    yield db
    db.dispose()


def within(subject: str, value: float) -> bool:
    row = REFERENCES[subject]
    return float(row["low"]) <= value <= float(row["high"])


def test_chrome_leather_per_kg_sits_in_the_pefcr_plus_tannery_range() -> None:
    # PEFCR Leather farm share per m2 + Chen et al. 2020 tannery range per kg finished leather
    system = service.system_for()
    kg_per_m2 = 1.1  # conversions.csv
    per_kg = system.score({"leather_chrome_tanned": 1.0}, "gwp100") / kg_per_m2
    assert within("leather_chrome_tanned", per_kg), per_kg


@pytest.mark.xfail(
    strict=True,
    reason="MICS gives ~3 kg CO2e cradle-to-gate for a 5.3 kg oak chair; two published "
    "hardwood chairs give 22-23 (Buildings 2024): workshop and kiln energy to check",
)
def test_oak_chair_cradle_to_gate_sits_near_published_hardwood_chairs(demo: Database) -> None:
    stages = service.footprint(demo, "sedia-quercia").by_stage
    cradle_to_gate = stages["materials"] + stages["manufacturing"] + stages["transport"]
    assert within("sedia-quercia", cradle_to_gate), cradle_to_gate
