"""Server-side SVG charts: well-formed, labels escaped, sizes proportional."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support import run_mics

from mics.factory import charts

NS = "{http://www.w3.org/2000/svg}"


def test_sankey_bands_are_proportional_and_labels_escaped() -> None:
    svg = charts.sankey("flows <test>", [("a & b", "c", 3.0), ("a & b", "d", 1.0)])
    root = ET.fromstring(svg)
    paths = root.findall(f"{NS}path")
    widths = [float(p.attrib["stroke-width"]) for p in paths]
    assert widths[0] == 3 * widths[1]
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "flows <test>" in texts  # escaped in the SVG, plain once parsed
    assert "a & b 4.00 kg" in texts


def test_lines_and_bars_parse() -> None:
    ET.fromstring(charts.lines("t", [0, 1, 2], {"x": [1, 2, 3]}, x_label="d", y_label="kg"))
    ET.fromstring(charts.bars("losses", {"sieving": 1.0, "atomisation": 0.0}, "kg"))


def test_simulate_plot_and_sweep_out(tmp_path: Path) -> None:
    svg, rows = tmp_path / "run.svg", tmp_path / "rows.csv"
    out = run_mics(
        tmp_path,
        "factory",
        "simulate",
        "jewellery-workshop",
        "--horizon",
        "20",
        "--plot",
        str(svg),
    )
    assert out.returncode == 0, out.stderr
    root = ET.fromstring(svg.read_text().split("\n", 1)[1])
    assert "gold-18k virgin" in [t.text for t in root.iter(f"{NS}text")]
    out = run_mics(
        tmp_path,
        "factory",
        "sweep",
        "jewellery-workshop",
        "--vary",
        "scenario.horizon_days=5:10:2",
        "--out",
        str(rows),
        "--workers",
        "1",
    )
    assert out.returncode == 0, out.stderr
    assert rows.read_text().splitlines()[0].startswith("scenario.horizon_days,")
    assert len(rows.read_text().splitlines()) == 3
