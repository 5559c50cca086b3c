"""Build planning: nesting against a shelf packer, and the layer-wise build time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.factory.test_scenario import MINIMAL
from tests.support import run_mics

from mics.factory import load, parse
from mics.factory.buildplan import build_seconds, period_demand, plan, shelf_plates

# a 100 x 100 mm plate and parts of 68 x 30 x 10 mm, four a month
FOUR = (
    MINIMAL.replace("[100, 100, 100]", "[100, 100, 100]")
    .replace("bbox_mm = [50, 50, 20]", "bbox_mm = [68, 30, 10]")
    .replace('{ kind = "poisson", per_day = 1.0 }', '{ kind = "scheduled", every_days = 7.5 }')
)


def test_layer_wise_build_time_by_hand() -> None:
    scenario = parse(MINIMAL)
    machine, part = scenario.machines[0], scenario.parts[0]
    scan, recoat = build_seconds(machine, [part], density_kg_m3=4430.0)
    # 0.1 kg x 1.1 (supports) / 4430 kg/m3 = 24,830.7 mm3, at 5 mm3/s
    assert scan == pytest.approx(0.11 / 4430.0 * 1e9 / 5.0)
    # 20 mm / 0.05 mm = 400 layers x 10 s
    assert recoat == pytest.approx(4000.0)


def test_period_demand_from_rates() -> None:
    station = load("space-station")
    wanted = period_demand(station, 30.0)
    assert wanted["ti-bracket"] == 12  # 0.4 a day
    assert wanted["pei-clip"] == 30  # 1 a day
    assert wanted["ti-pump-impeller"] == 2  # 24 in service / 540 days x 30 = 1.33, rounded up
    assert period_demand(parse(FOUR), 30.0) == {"p": 4}


def test_shelf_packer_by_hand() -> None:
    # 48 x 48 parts take 50 x 50 with the gap: four on a 100 x 100 plate, the fifth on another
    assert shelf_plates([(48, 48)] * 4, 100, 100) == 1
    assert shelf_plates([(48, 48)] * 5, 100, 100) == 2
    # 68 x 30: one per shelf (70 + 70 > 102), three shelves of 32 mm fill 96: the 4th overflows
    assert shelf_plates([(68, 30)] * 4, 100, 100) == 2


def test_rectpack_nests_what_the_shelf_packer_cannot() -> None:
    made = plan(parse(FOUR), 30.0)
    # three stacked (70 x 32 each) and one turned in the 32 mm strip on the right: one plate
    assert len(made.builds) == 1
    assert made.shelf_plates == 2
    assert made.density == pytest.approx(4 * 68 * 30 / 100 / 100)
    assert made.shelf_density == pytest.approx(made.density / 2)
    placed = made.builds[0].placements
    turned = [p for p in placed if (p.width_mm, p.depth_mm) == (30.0, 68.0)]
    assert len(turned) == 1
    for a in placed:  # no overlaps, all on the plate
        assert a.x_mm + a.width_mm <= 100
        assert a.y_mm + a.depth_mm <= 100
        for b in placed:
            if a is not b:
                apart_x = a.x_mm + a.width_mm <= b.x_mm or b.x_mm + b.width_mm <= a.x_mm
                apart_y = a.y_mm + a.depth_mm <= b.y_mm or b.y_mm + b.depth_mm <= a.y_mm
                assert apart_x or apart_y


def test_fuller_builds_save_the_recoating_of_the_builds_they_replace() -> None:
    made = plan(parse(FOUR), 30.0)
    # one build of four instead of four builds: three builds' recoating (200 layers x 10 s) saved
    assert made.hours_saved == pytest.approx(3 * 200 * 10.0 / 3600.0)


def test_shipped_plan_is_no_worse_than_the_shelf_packer() -> None:
    for name in ("space-station", "jewellery-workshop", "furniture-hardware"):
        made = plan(load(name))
        assert len(made.builds) <= made.shelf_plates
        assert made.density >= made.shelf_density
        assert made.hours_saved > 0


def test_cli_plan_prints_the_builds(tmp_path: Path) -> None:
    out = run_mics(tmp_path, "factory", "plan", "space-station", COLUMNS="160")
    assert out.returncode == 0, out.stderr
    assert "ti-bracket x12" in out.stdout
    assert "saved against one part per build" in out.stdout
    body = json.loads(run_mics(tmp_path, "factory", "plan", "space-station", "--json").stdout)
    assert body["parts"] == sum(len(b["placements"]) for b in body["builds"])
