"""Bio-based carbon content of bio-based materials, with the standard that measures it.

``data/bio_based.csv`` gives, per process of the inventory, the share of the material's
carbon that is biogenic and the standard it is (or would be) measured by: EN 16640:2017
(bio-based carbon content by radiocarbon, §6-§8), ISO 16620-2:2019 (plastics, bio-based
carbon content) or EN 16785-1:2015 (bio-based content by radiocarbon and elemental
analysis, §5). The registry's ``bio_based_share`` is a mass share; this table is what a
passport cites as the measured carbon share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from mics.footprint.dataset import Row, rows
from mics.footprint.model import Dataset

METHODS: Final = frozenset({"EN 16640", "ISO 16620-2", "EN 16785-1"})


@dataclass(frozen=True)
class BioBasedContent:
    process: str
    carbon_content: float  # biogenic share of the material's carbon, 0..1
    method: str
    source: str


def bio_based_contents(dataset: Dataset) -> Mapping[str, BioBasedContent]:
    """The shipped table, checked against ``dataset``'s processes."""
    known = {p.id for p in dataset.processes}
    out: dict[str, BioBasedContent] = {}
    for row in rows("bio_based.csv"):
        content = _content(row, known, out)
        out[content.process] = content
    return out


def _content(row: Row, known: set[str], seen: Mapping[str, BioBasedContent]) -> BioBasedContent:
    process = row.text("process")
    if process not in known or process in seen:
        raise row.fail("process", process, "a process id of the inventory, once", "fix the id")
    share = row.number("biobased_carbon_content")
    if not 0.0 <= share <= 1.0:
        raise row.fail("biobased_carbon_content", share, "a share 0..1", "e.g. 0.62")
    method = row.choice("method", METHODS)
    return BioBasedContent(process, share, method, row.text("source"))
