"""The ``mics`` command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def mics(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "MICS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MICS_HOME": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "mics", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    assert mics(path, "db", "upgrade").returncode == 0
    first = mics(path, "demo")
    assert first.returncode == 0, first.stderr
    return path


def test_demo_twice_adds_nothing_and_export_lists_three_products(demo_dir: Path) -> None:
    second = mics(demo_dir, "demo")
    assert second.returncode == 0
    assert "0 items_added" in second.stdout
    exported = mics(demo_dir, "registry", "export", "--kind", "products")
    products = json.loads(exported.stdout)["products"]
    assert [p["id"] for p in products] == ["borsa-aurora", "pinza-robotica", "sedia-quercia"]


def test_registry_list_shows_partners_table(demo_dir: Path) -> None:
    out = mics(demo_dir, "registry", "list", "spokes")
    assert out.returncode == 0
    assert "Additive Manufacturing" in out.stdout


def test_import_of_bad_file_prints_one_line_and_exits_non_zero(demo_dir: Path) -> None:
    bad = demo_dir / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "materials": [
                    {
                        "id": "m",
                        "name": "M",
                        "category": "metal",
                        "density_kg_m3": 10,
                        "country": "IT",
                        "recycled_share": 2,
                    }
                ]
            }
        )
    )
    out = mics(demo_dir, "registry", "import", str(bad))
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "error: materials[0].recycled_share: a share is a fraction between 0 and 1"
    ]
    verbose = mics(demo_dir, "--verbose", "registry", "import", str(bad))
    assert "Traceback" in verbose.stderr


def test_csv_import_upserts(demo_dir: Path) -> None:
    csv_file = demo_dir / "materials.csv"
    csv_file.write_text(
        "id,name,category,density_kg_m3,recycled_share,bio_based_share,country,"
        "supplier,lca_process\nwool,Merino wool,textile,1310,0.2,1,IT,,\n"
    )
    assert mics(demo_dir, "registry", "import", str(csv_file)).returncode == 0
    exported = json.loads(mics(demo_dir, "registry", "export", "--kind", "materials").stdout)
    wool = next(m for m in exported["materials"] if m["id"] == "wool")
    assert (wool["recycled_share"], wool["supplier"]) == (0.2, None)
