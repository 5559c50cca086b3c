"""Label sheets as Chromium draws them: no text leaves its label, whatever the name."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mics.passport import labels

pytestmark = pytest.mark.browser
Browser = Callable[..., str]

NAMES = [
    "Borsa Aurora leather handbag",
    "Sedia Quercia oak chair with a very long descriptive name",
    "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
    "Pinza R2",
]
MEASURE = """
<script>
const out = [];
for (const g of document.querySelectorAll("svg g")) {
  const box = g.querySelector("rect").getBBox();
  for (const t of g.querySelectorAll("text")) {
    const b = t.getBBox();
    out.push({text: t.textContent, left: b.x - box.x, right: box.x + box.width - (b.x + b.width),
              bottom: box.y + box.height - (b.y + b.height)});
  }
}
document.getElementById("out").textContent = JSON.stringify(out);
</script>
"""


def test_no_label_text_spills_into_the_next_label(chromium: Browser, tmp_path: Path) -> None:
    sheet = labels.label_sheets(
        [
            labels.Label(
                f"https://mics.test/01/08012345000012/21/S{i}",
                name,
                "08012345000012",
                f"S{i}",
                "L2026-03",
            )
            for i, name in enumerate(NAMES)
        ]
    )[0]
    page = tmp_path / "sheet.html"
    page.write_text(f'<!doctype html><body>{sheet}<pre id="out"></pre>{MEASURE}</body>')
    dom = chromium("--dump-dom", page.as_uri())
    found = re.search(r'<pre id="out">(.*?)</pre>', dom, re.S)
    assert found is not None
    boxes = json.loads(found.group(1).replace("&quot;", '"'))
    names = sum(len(labels.name_lines(name, 3.2)) for name in NAMES)
    assert len(boxes) == names + 3 * len(NAMES)  # name lines, then GTIN, lot and serial
    for box in boxes:
        assert box["left"] >= 0, box
        assert box["right"] >= 0, box  # inside its own label: nothing spills to the right
        assert box["bottom"] >= 0, box
