"""Sweeps: grids, Latin hypercubes, key paths, processes and a Dask LocalCluster."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.factory.test_scenario import MINIMAL

from mics.errors import InvalidInput
from mics.factory import loops
from mics.factory.sweep import (
    apply,
    axis,
    document,
    grid,
    latin_hypercube,
    sweep,
    write_csv,
    write_parquet,
)

# the loop of tests/factory/support.py, as a document to vary
_LOOP = """
[scenario]
name = "loop"
horizon_days = 2000
resupply = "none"
stochastic = false
sample_days = 50

[[material]]
id = "m"
kind = "metal_powder"
initial_kg = 100.0

[[machine]]
id = "printer"
process = "lpbf"
materials = ["m"]
build_volume_mm = [100, 100, 100]
layer_mm = 1.0
recoat_s = 0.0
scan_mm3_per_s = 1e9
power_kw = 1.0
availability = 1.0

[[recycler]]
id = "atomiser"
process = "gas_atomiser"
material = "m"
yield = 0.8
kwh_per_kg = 5.0
kg_per_hour = 1e9

[[part]]
id = "p"
material = "m"
mass_kg = 1.0
bbox_mm = [90, 90, 10]
life_days = 5.0
demand = { kind = "scheduled", every_days = 1.0 }
"""


def test_axis_grid_and_hypercube() -> None:
    a = axis("recycler[0].yield=0.5:0.9:3")
    assert (a.key, a.values()) == ("recycler[0].yield", [0.5, 0.7, 0.9])
    b = axis("material[0].initial_kg=10:20:2")
    points = grid([a, b])
    assert len(points) == 6
    assert points[1] == {"recycler[0].yield": 0.5, "material[0].initial_kg": 20.0}
    cube = latin_hypercube([a, b], 10, seed=1)
    assert len(cube) == 10
    # a Latin hypercube puts exactly one point in each tenth of every range
    tenths = sorted(int((p["recycler[0].yield"] - 0.5) / 0.4 * 10) for p in cube)
    assert tenths == list(range(10))


def test_apply_sets_nested_keys_and_keeps_integers() -> None:
    doc = document("space-station")
    changed = apply(doc, {"part[1].demand.in_service": 30.4, "recycler[0].yield": 0.7})
    assert changed["part"][1]["demand"]["in_service"] == 30
    assert changed["recycler"][0]["yield"] == 0.7
    assert doc["recycler"][0]["yield"] == 0.9  # the original is untouched


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("recycler[0].yield=0.5:0.9", "--vary"),
        ("recycler[0].yield=0.9:0.5:3", "--vary"),
        ("recycler[7].yield=0.5:0.9:2", "recycler[7].yield"),
        ("nothing.here=1:2:2", "nothing.here"),
    ],
)
def test_bad_vary_names_the_key(spec: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        sweep(document("space-station"), [axis(spec)], executor=ThreadPoolExecutor(1))
    assert caught.value.field == field


def test_a_bad_variant_stops_the_sweep_before_any_run() -> None:
    import tomllib

    ran: list[object] = []

    class Recording(ThreadPoolExecutor):
        def map(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            ran.append(args)
            return super().map(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput) as caught:
        sweep(tomllib.loads(MINIMAL), [axis("recycler[0].yield=0.5:1.5:3")], executor=Recording())
    assert caught.value.field == "recycler[0].yield"
    assert caught.value.value == 1.5
    assert ran == []


def test_process_sweep_matches_the_analytic_days(tmp_path: Path) -> None:
    import tomllib

    rows = sweep(tomllib.loads(_LOOP), [axis("recycler[0].yield=0.5:0.8:2")])
    for row in rows:
        y = row["recycler[0].yield"]
        expected = loops.self_sufficiency_days(100.0, 1.0, y, 5.0)
        assert row["self_sufficiency_days"] == pytest.approx(expected, rel=0.02)
    write_csv(rows, tmp_path / "rows.csv")
    with (tmp_path / "rows.csv").open() as f:
        read = list(csv.DictReader(f))
    assert [float(r["recycler[0].yield"]) for r in read] == [0.5, 0.8]
    write_parquet(rows, tmp_path / "rows.parquet")
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "rows.parquet")
    assert table.column("recycler[0].yield").to_pylist() == [0.5, 0.8]


def test_sweep_runs_unchanged_on_a_dask_local_cluster() -> None:
    import tomllib

    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        rows = sweep(
            tomllib.loads(_LOOP),
            [axis("recycler[0].yield=0.5:0.8:2"), axis("material[0].initial_kg=50:100:2")],
            executor=client.get_executor(),
        )
    assert len(rows) == 4
    for row in rows:
        y, s0 = row["recycler[0].yield"], row["material[0].initial_kg"]
        expected = loops.self_sufficiency_days(s0, 1.0, y, 5.0)
        assert row["self_sufficiency_days"] == pytest.approx(expected, rel=0.02)
