"""``mics factory`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factory.test_scenario import MINIMAL
from tests.support import run_mics


def test_simulate_space_station_answers_days_without_resupply(tmp_path: Path) -> None:
    out = run_mics(tmp_path, "factory", "simulate", "space-station", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["scenario"] == "space-station"
    # no resupply and a finite stock: the first unmet demand falls within the ten years
    assert 0 < body["self_sufficiency_days"] < 3650
    assert body["end_day"] == body["self_sufficiency_days"]
    assert body["mass_balance_error_kg"] <= 1e-9
    assert set(body["losses_kg"]) >= {"sieving", "atomisation", "supports", "scrap", "quality"}
    assert body["energy_kwh"]["printing"] > 0


def test_simulate_prints_the_answer_and_a_summary_table(tmp_path: Path) -> None:
    out = run_mics(
        tmp_path, "factory", "simulate", "furniture-hardware", "--horizon", "30", COLUMNS="120"
    )
    assert out.returncode == 0, out.stderr
    assert "furniture-hardware (seed 3)" in out.stdout
    assert "closure rate" in out.stdout
    assert "losses by stage" in out.stdout
    assert "day 30 of 30" in out.stderr  # the progress bar, finished


def test_seed_and_horizon_options_are_used(tmp_path: Path) -> None:
    out = run_mics(
        tmp_path,
        "factory",
        "simulate",
        "jewellery-workshop",
        "--json",
        "--seed",
        "9",
        "--horizon",
        "5",
    )
    body = json.loads(out.stdout)
    assert (body["seed"], body["horizon_days"], len(body["series"])) == (9, 5.0, 6)


def test_scenarios_lists_the_shipped_ones(tmp_path: Path) -> None:
    out = run_mics(tmp_path, "factory", "scenarios", COLUMNS="200")
    assert out.returncode == 0
    for name in ("space-station", "jewellery-workshop", "furniture-hardware"):
        assert name in out.stdout


def test_bad_scenario_exits_non_zero_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace("yield = 0.9", "yield = 1.5"))
    out = run_mics(tmp_path, "factory", "simulate", str(path))
    assert out.returncode == 1
    assert "recycler[0].yield" in out.stderr
    assert "1.5" in out.stderr
    assert "simulating" not in out.stderr  # nothing started
