"""``mics custody`` as a user runs it: the demo's report, a claim, a refused over-claim."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.databases import Templates
from tests.support import run_mics

RING = "08012345000708/AF0008"  # GTIN/serial of the demo's unclaimed cast ring


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    path = tmp_path_factory.mktemp("custody-cli")
    db = templates.sqlite("demo", path / "cli.db")
    db.dispose()
    return path


def test_report_json_has_every_part_of_the_balance(folder: Path) -> None:
    out = run_mics(folder, "custody", "report", "orafi-aretini", "--period", "2026Q3", "--json")
    assert out.returncode == 0, out.stderr
    gold = json.loads(out.stdout)["accounts"][0]
    assert {"openingKg", "inputs", "conversions", "outputKg", "claims", "closingKg"} <= set(gold)
    assert [c["step"] for c in gold["conversions"]] == [
        "casting",
        "remelting own scrap",
        "3d-printing",
    ]
    assert gold["reconciliation"]["within"] is True
    assert gold["claimedKg"] == pytest.approx(sum(c["kg"] for c in gold["claims"]))


def test_claim_then_over_claim_says_how_much_is_available(folder: Path) -> None:
    claim = ["custody", "claim", "orafi-aretini", RING, "--material", "gold"]
    claim += ["--characteristic", "recycled", "--period", "2026Q3"]
    over = run_mics(folder, *claim, "--kg", "0.003")
    assert over.returncode != 0
    assert "only 0.0028125 kg" in over.stderr
    assert "0.0001875 kg short" in over.stderr
    made = run_mics(folder, *claim, "--kg", "0.002", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["share"] == pytest.approx(0.002 / 0.00375)
    report = run_mics(
        folder, "custody", "report", "orafi-aretini", "--period", "2026Q3", COLUMNS="160"
    )
    assert "53.3% recycled gold" in report.stdout
    assert "within the 0.5% tolerance" in report.stdout


def test_packs_lists_every_rule_with_its_source(folder: Path) -> None:
    out = run_mics(folder, "custody", "packs", "--json")
    packs = {p["id"]: p for p in json.loads(out.stdout)}
    assert packs["iscc-plus"]["rules"][0]["source"]
    assert all(r["source"] for p in packs.values() for r in p["rules"])
