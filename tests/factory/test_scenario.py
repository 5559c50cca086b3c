"""Scenario reading: the shipped ones load; every bad input names its key and value."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from mics.errors import InvalidInput, MicsError
from mics.factory import load, parse, shipped
from mics.factory.scenario import MAX_SCENARIO_BYTES

MINIMAL = """
[scenario]
name = "t"
horizon_days = 10

[[material]]
id = "ti"
kind = "metal_powder"
initial_kg = 10.0
oxygen_wt_pct = 0.11
oxygen_pickup_per_cycle = 0.01
oxygen_limit_wt_pct = 0.15

[[machine]]
id = "m"
process = "lpbf"
materials = ["ti"]
build_volume_mm = [100, 100, 100]
layer_mm = 0.05
recoat_s = 10
scan_mm3_per_s = 5
power_kw = 2
availability = 1.0

[[recycler]]
id = "r"
process = "gas_atomiser"
material = "ti"
yield = 0.9
kwh_per_kg = 6
kg_per_hour = 1

[[part]]
id = "p"
material = "ti"
mass_kg = 0.1
bbox_mm = [50, 50, 20]
support_fraction = 0.1
life_days = 30
demand = { kind = "poisson", per_day = 1.0 }
"""


def _error(text: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        parse(text)
    return caught.value


def test_the_three_shipped_scenarios_load() -> None:
    assert shipped() == ("furniture-hardware", "jewellery-workshop", "space-station")
    station = load("space-station")
    assert station.resupply == "none"
    assert {m.id for m in station.materials} == {"ti64", "pei"}
    assert all(m.refresh_fraction == 0 for m in station.materials)


def test_minimal_scenario_reads_its_values() -> None:
    scenario = parse(MINIMAL)
    ti = scenario.materials[0]
    assert ti.quality(3) == pytest.approx(0.14)
    # (0.15 - 0.11) / 0.01 = 4 loops exactly: the 4th loop is still within the limit
    assert ti.max_loops() == 4
    assert scenario.recyclers[0].yield_ == 0.9
    assert scenario.parts[0].demand.per_day == 1.0


def test_polymer_loops_follow_the_strength_bound() -> None:
    text = MINIMAL.replace('kind = "metal_powder"', 'kind = "filament"').replace(
        "oxygen_wt_pct = 0.11\noxygen_pickup_per_cycle = 0.01\noxygen_limit_wt_pct = 0.15",
        "strength_loss_per_cycle = 0.1\nmin_strength_fraction = 0.7",
    )
    pei = parse(text).materials[0]
    # 0.9^3 = 0.729 >= 0.7 > 0.9^4 = 0.656
    assert pei.max_loops() == 3
    assert pei.quality(2) == pytest.approx(0.81)


def test_unknown_key_suggests_the_nearest() -> None:
    error = _error(MINIMAL.replace("oxygen_limit_wt_pct", "oxygen_limit_wt_pc"))
    assert error.field == "material[0].oxygen_limit_wt_pc"
    assert "did you mean 'oxygen_limit_wt_pct'" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "field", "value"),
    [
        ("initial_kg = 10.0", "initial_kg = -1.0", "material[0].initial_kg", -1.0),
        ("initial_kg = 10.0", "initial_kg = 0", "material[0].initial_kg", 0),
        ("mass_kg = 0.1", "mass_kg = 0.0", "part[0].mass_kg", 0.0),
        ("yield = 0.9", "yield = 0", "recycler[0].yield", 0),
        ("yield = 0.9", "yield = 1.2", "recycler[0].yield", 1.2),
        ("horizon_days = 10", "horizon_days = -5", "scenario.horizon_days", -5),
        ('process = "lpbf"', 'process = "cnc"', "machine[0].process", "cnc"),
        ('material = "ti"\nmass', 'material = "tj"\nmass', "part[0].material", "tj"),
        (
            "per_day = 1.0",
            "per_day = 1.0, every_days = 2",
            "part[0].demand.every_days",
            "every_days",
        ),
    ],
)
def test_bad_values_name_key_and_value(old: str, new: str, field: str, value: object) -> None:
    assert old in MINIMAL
    error = _error(MINIMAL.replace(old, new, 1))
    assert error.field == field
    assert error.value == value
    assert error.expected
    assert error.status == 422


def test_yield_of_one_is_allowed() -> None:
    assert parse(MINIMAL.replace("yield = 0.9", "yield = 1.0")).recyclers[0].yield_ == 1.0


def test_part_whose_material_no_machine_prints() -> None:
    text = (
        MINIMAL
        + """
[[material]]
id = "pei"
kind = "filament"
initial_kg = 1.0
"""
    )
    error = _error(text.replace('material = "ti"\nmass', 'material = "pei"\nmass'))
    assert error.field == "part[0].material"
    assert error.value == "pei"
    assert "no machine prints" in str(error)


def test_part_larger_than_every_build_volume() -> None:
    error = _error(MINIMAL.replace("bbox_mm = [50, 50, 20]", "bbox_mm = [50, 50, 120]"))
    assert error.field == "part[0].bbox_mm"
    assert error.value == [50.0, 50.0, 120.0]


def test_a_part_turned_on_the_plate_fits() -> None:
    text = MINIMAL.replace("[100, 100, 100]", "[150, 60, 100]").replace(
        "[50, 50, 20]", "[55, 140, 20]"
    )
    assert parse(text).parts[0].bbox_mm == (55.0, 140.0, 20.0)


def test_unreadable_mesh_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "bad.stl").write_bytes(b"not a mesh at all")
    text = MINIMAL.replace("bbox_mm = [50, 50, 20]", 'mesh = "bad.stl"')
    path = tmp_path / "s.toml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load(path)
    assert caught.value.field == "part[0].mesh"
    assert caught.value.value == str(tmp_path / "bad.stl")


def test_binary_stl_mesh_gives_the_bounding_box(tmp_path: Path) -> None:
    triangles = [((0, 0, 0), (40, 0, 0), (0, 30, 0)), ((0, 0, 0), (40, 30, 0), (10, 10, 25))]
    data = b"\0" * 80 + struct.pack("<I", len(triangles))
    for tri in triangles:
        data += struct.pack("<3f", 0, 0, 1)
        for vertex in tri:
            data += struct.pack("<3f", *vertex)
        data += b"\0\0"
    (tmp_path / "p.stl").write_bytes(data)
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL.replace("bbox_mm = [50, 50, 20]", 'mesh = "p.stl"'))
    assert load(path).parts[0].bbox_mm == (40.0, 30.0, 25.0)


def test_not_toml_and_too_large_and_missing_file(tmp_path: Path) -> None:
    assert _error("[scenario\n").field == "scenario"
    assert _error("x" * (MAX_SCENARIO_BYTES + 1)).value == MAX_SCENARIO_BYTES + 1
    with pytest.raises(MicsError, match="no such scenario"):
        load(tmp_path / "absent.toml")


def test_quality_keys_of_the_wrong_family_are_refused() -> None:
    text = MINIMAL.replace("oxygen_wt_pct = 0.11", "strength_loss_per_cycle = 0.1")
    error = _error(text)
    assert error.field == "material[0].strength_loss_per_cycle"
