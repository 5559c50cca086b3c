"""``mics footprint`` as a user runs it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from tests.databases import Templates
from tests.support import run_mics


def mics(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_mics(folder, *args, COLUMNS="200")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    path = tmp_path_factory.mktemp("footprint-cli")
    db = templates.sqlite("demo", path / "cli.db")
    db.dispose()
    return path


def test_json_has_product_total_stages_and_interval(demo_dir: Path) -> None:
    out = mics(
        demo_dir,
        "footprint",
        "8012345000012",
        "--json",
        "--monte-carlo",
        "100",
        "--compare",
        "vegetable-tanning",
        "--iterations",
        "50",
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["product"] == "borsa-aurora"
    assert sum(body["by_stage"].values()) == pytest.approx(body["gwp100"])
    low, high = body["gwp100_interval"]
    assert low < body["gwp100"] < high
    assert body["alternatives"][0]["variant"] == "vegetable-tanning"
    assert 0 < body["circularity"]["mci"] < 1
    # PEFCR farm share, Chen et al. 2020 tannery and the grid are checked; end of life is not
    assert 0.8 <= body["data_quality"] < 0.95
    assert 0.0 <= body["data_quality_chain"] <= body["data_quality"]


def test_table_output_and_one_line_errors(demo_dir: Path) -> None:
    out = mics(demo_dir, "footprint", "sedia-quercia", "--compare", "demo", "--iterations", "50")
    assert out.returncode == 0, out.stderr
    assert "by life-cycle stage" in out.stdout
    assert "variant longer-life" in out.stdout
    assert re.search(r"data quality: \d+% of the GWP emitted by figures checked", out.stdout)
    bad = mics(demo_dir, "footprint", "nope")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == ["error: no product with id or GTIN 'nope'"]


def test_the_cli_runs_more_than_an_anonymous_api_caller_may(demo_dir: Path) -> None:
    """The CLI runs on its user's own machine: the API's caps do not apply to it."""
    from mics.api.compute import PUBLIC_WORK

    out = mics(demo_dir, "footprint", "borsa-aurora", "--json", "--monte-carlo", "1500")
    assert PUBLIC_WORK < 1500
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["monte_carlo"]["iterations"] == 1500


def test_grid_scenario_flag_switches_the_use_phase_grid(demo_dir: Path) -> None:
    today = json.loads(mics(demo_dir, "footprint", "pinza-robotica", "--json").stdout)
    out = mics(demo_dir, "footprint", "pinza-robotica", "--json", "--grid-scenario", "pniec-2030")
    assert out.returncode == 0, out.stderr
    pniec = json.loads(out.stdout)
    assert pniec["grid_scenario"] == "pniec-2030"
    assert pniec["by_stage"]["use"] == pytest.approx(0.70 * today["by_stage"]["use"])
    assert "2019" in pniec["circularity"]["mci_method"]
    text = mics(demo_dir, "footprint", "pinza-robotica", "--monte-carlo", "50")
    assert "product of medians" in text.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--monte-carlo", "10", "--seed", "-1"],
            "error: seed: bad seed: got -1; expected a whole number, 0 <= seed < 2**32",
        ),
        (
            ["--compare", "demo", "--seed", "4294967296"],
            "error: seed: bad seed: got 4294967296; expected a whole number, 0 <= seed < 2**32",
        ),
        (
            ["--cutoff", "2"],
            "error: cutoff: not a share of the total: got 2.0; expected 0 <= cutoff < 1, "
            "e.g. 0.01 for 1 %",
        ),
    ],
)
def test_a_bad_seed_or_cutoff_is_one_line_naming_the_option(
    demo_dir: Path, args: list[str], line: str
) -> None:
    out = mics(demo_dir, "footprint", "borsa-aurora", *args)
    assert out.returncode == 1, out.stdout
    assert out.stderr.strip().splitlines() == [line]
