"""One material truth and a use phase with its uncertainty (issue 17 items 4-6), on the demo."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve
from tests.databases import Templates

from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.footprint.monte_carlo import monte_carlo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("truth") / "demo.db")
    yield db
    db.dispose()


def gwp(process: str) -> float:
    system = service.system_for()
    f = np.zeros(len(system.processes))
    f[system.index[process]] = 1.0
    supply = spsolve(sp.csc_matrix(system.technosphere), f)
    return float(system.characterisation["gwp100"] @ (system.biosphere @ supply))


def test_registry_recycled_share_drives_the_lca_mix(demo: Database) -> None:
    fp = service.footprint(demo, "pinza-robotica")
    rails = {
        line.process: line.amount
        for line in fp.model.lines
        if line.material == "steel-316l" and line.stage == "materials"
    }
    bought = 0.3 * 1.5  # cnc_machining buys 1.5 kg per kg of part
    assert rails == pytest.approx(
        {"stainless_steel": bought * 0.4, "stainless_steel_recycled": bought * 0.6}
    )
    expected = bought * (0.4 * gwp("stainless_steel") + 0.6 * gwp("stainless_steel_recycled"))
    assert fp.by_material["steel-316l"] == pytest.approx(
        expected
        + sum(
            v
            for line, v in zip(fp.model.lines, fp.scores, strict=True)
            if line.material == "steel-316l" and line.stage != "materials"
        ),
        rel=1e-9,
    )
    assert expected < bought * gwp("stainless_steel")  # 60 % recycled weighs less than primary
    circ = service.circularity(demo, "pinza-robotica")
    rails_cff = next(m for m in circ.cff if m.material == "steel-316l")
    assert rails_cff.parameters.r1 == 0.6  # the same 60 % in the CFF
    assert rails_cff.parameters.e_rec == pytest.approx(gwp("stainless_steel_recycled"))


def test_servo_motor_follows_its_german_supplier_and_travels_once(demo: Database) -> None:
    fp = service.footprint(demo, "pinza-robotica")
    motor = [line for line in fp.model.lines if line.material == "servo-motor"]
    by = {(line.stage, line.process): line.amount for line in motor}
    assert by[("materials", "electricity_cn")] == pytest.approx(-0.4)
    assert by[("materials", "electricity_de")] == pytest.approx(0.4)
    assert by[("transport", "transport_sea")] == pytest.approx(-6.65)  # the CN delivery, out
    assert by[("transport", "transport_lorry")] == pytest.approx(0.35 / 1000 * 900)  # DE -> IT
    scores = [v for line, v in zip(fp.model.lines, fp.scores, strict=True) if line in motor]
    upstream = gwp("electric_motor_small") - 6.65 * gwp("transport_sea")
    upstream += 0.4 * (gwp("electricity_de") - gwp("electricity_cn"))
    made = sum(v for line, v in zip(motor, scores, strict=True) if line.stage == "materials")
    moved = sum(v for line, v in zip(motor, scores, strict=True) if line.stage == "transport")
    assert made + moved == pytest.approx(upstream + 0.35 * 0.9 * gwp("transport_lorry"), rel=1e-9)
    assert any("DE" in note and "electricity_de" in note for note in fp.model.assumptions)


def test_oak_chair_mci_counts_sustained_wood_and_energy_recovery(demo: Database) -> None:
    circ = service.circularity(demo, "sedia-quercia")
    oak = next(m for m in circ.mci.materials if "oak-timber" in m.name)
    assert oak.virgin_feedstock == 0.0  # PEFC wood: F_S = 1
    assert oak.waste_after_use == pytest.approx(4.2 * 0.3)  # only the landfilled 30 %
    assert circ.mci.sustained_content == pytest.approx(5.1 / 5.34)
    body = circ.as_json()
    assert "2019" in body["mci_method"]
    assert circ.mci.mci > 0.8  # was 0.35 with the 2015 terms


def test_gripper_interval_widens_when_the_use_phase_is_sampled(demo: Database) -> None:
    fp = service.footprint(demo, "pinza-robotica", monte_carlo=400, seed=1)
    assert fp.uncertainty is not None
    wide = fp.uncertainty.high - fp.uncertainty.low
    narrow = monte_carlo(service.system_for(), fp.model.demand(), "gwp100", iterations=400, seed=1)
    assert wide > 3 * (narrow.high - narrow.low)
    assert "lifetime" in fp.uncertainty.sampled
    body = fp.as_json()["monte_carlo"]
    assert body["point_value"] == pytest.approx(fp.total)
    assert "product of medians" in body["note"]
    assert body["low"] < body["median"] < body["high"]
    assert body["mean"] > body["median"]  # lognormal inputs: the mean lies above the median


def test_pniec_grid_scenario_lowers_the_use_phase_by_its_mean_factor(demo: Database) -> None:
    today = service.footprint(demo, "pinza-robotica")
    pniec = service.footprint(demo, "pinza-robotica", grid_scenario="pniec-2030")
    # 2026-2030: 0.85 -> 0.65 linearly (mean 0.75); 2030-2034: 0.65; 8 years: 0.70
    assert pniec.by_stage["use"] == pytest.approx(0.70 * today.by_stage["use"], rel=1e-9)
    assert pniec.by_stage["materials"] == pytest.approx(today.by_stage["materials"])
    assert pniec.as_json()["grid_scenario"] == "pniec-2030"
    assert any("pniec-2030" in note for note in pniec.model.assumptions)


def test_unknown_grid_scenario_is_refused_with_its_name(demo: Database) -> None:
    with pytest.raises(InvalidInput) as error:
        service.footprint(demo, "pinza-robotica", grid_scenario="net-zero-2025")
    assert error.value.field == "grid_scenario"
    assert "pniec-2030" in str(error.value)


def test_a_supplier_country_without_a_grid_keeps_the_process_grid_and_says_so(
    demo: Database,
) -> None:
    from dataclasses import replace

    from mics.footprint.assessment import footprint
    from mics.footprint.parameters import shipped_parameters
    from mics.footprint.profile import profile_for

    facts = service.product_facts(demo, "pinza-robotica")
    parts = tuple(
        replace(p, country="FR") if p.material == "servo-motor" else p for p in facts.parts
    )
    french = replace(facts, parts=parts)
    fp = footprint(
        french,
        service.system_for(),
        shipped_parameters(),
        profile_for(facts.id, facts.sector),
    )
    motor = {
        (line.stage, line.process) for line in fp.model.lines if line.material == "servo-motor"
    }
    assert ("transport", "transport_sea") in motor  # the CN delivery is still taken out
    assert ("materials", "electricity_cn") not in motor  # no swap without electricity_fr
    assert any("no electricity_fr" in note for note in fp.model.assumptions)


def test_a_recycled_process_with_no_recycled_share_follows_the_share(demo: Database) -> None:
    from dataclasses import replace

    from mics.footprint.inventory import material_mix
    from mics.footprint.parameters import shipped_parameters

    (part,) = [
        p
        for p in service.product_facts(demo, "pinza-robotica").parts
        if p.material == "aluminium-primary"
    ]
    recycled = replace(part, lca_process="aluminium_recycled", recycled_share=0.0)
    notes: list[str] = []
    assert material_mix(recycled, shipped_parameters(), notes) == (
        ("aluminium_primary", 1.0, "virgin"),
    )
    assert "follows the share" in notes[0]
