"""``mics trace`` for people: sentences that read the right way, names, short identifiers.

The JSON answer (``--json``) keeps the API's edges, which run with the material
(``from`` an input ``to`` what was made of it, a child to its parent). A table reads
better as "LC26-07 made from H26-011", so each relation names its subject here.
GS1 Digital Links are shortened to what tells them apart (a serial, a lot, a case)
with the registry's product and partner names beside them; ``--wide`` shows them whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.table import Table

from mics.db import Database
from mics.registry import list_partners, list_products

# relation -> (subject end, verb, object end) of the edge {"from", "to"}
SENTENCES = {
    "made_from": ("to", "made from", "from"),
    "contains": ("to", "contains", "from"),
    "same_lot": ("to", "is in lot", "from"),
    "part_of": ("from", "is packed in", "to"),
}
_DIGITAL_LINK = re.compile(r"^https?://[^/]+/(0[01]|414|417)/(\d+)(?:/(10|21|254)/(.+))?$")


class Labels:
    """Names for identifiers, from the registry: products by GTIN, partners by GLN."""

    def __init__(self, db: Database, *, wide: bool = False) -> None:
        self.wide = wide
        self.products = {
            p.gtin: p.name for p in _all(lambda o: list_products(db, limit=500, offset=o))
        }
        self.places = {
            p.gln: p.name for p in _all(lambda o: list_partners(db, limit=500, offset=o)) if p.gln
        }

    def thing(self, uri: str) -> str:
        """``BA00001 (Borsa Aurora leather handbag)``, ``lot H26-011 (GTIN 08012345000401)``."""
        found = _DIGITAL_LINK.match(uri)
        if found is None:
            return uri
        key, number, qualifier, value = found.groups()
        if key == "00":
            short = f"case {number}"
        elif key in ("414", "417"):
            return self.place(uri)
        elif qualifier == "21":
            short = f"{value}"
        elif qualifier == "10":
            short = f"lot {value}"
        else:
            short = f"GTIN {number}"
        name = self.products.get(number) or (f"GTIN {number}" if qualifier else None)
        label = f"{short} ({name})" if name and name != short else short
        return f"{label}\n{uri}" if self.wide else label

    def place(self, uri: str | None) -> str:
        if not uri:
            return ""
        found = _DIGITAL_LINK.match(uri)
        if found is None or found.group(1) not in ("414", "417"):
            return uri
        gln = found.group(2)
        name = self.places.get(gln, f"GLN {gln}")
        return f"{name}\n{uri}" if self.wide else name


def _all(page: Any) -> Iterator[Any]:
    offset = 0
    while True:
        found = page(offset)
        yield from found.items
        offset += len(found.items)
        if not found.items or offset >= found.total:
            return


def print_trace(console: Console, answer: dict[str, Any], labels: Labels) -> None:
    """The genealogy ``answer`` (``Genealogy.as_json()``) as two tables."""
    things, events = len(answer["nodes"]), len(answer["events"])
    console.print(
        f"[bold]{answer['direction']}[/] of {labels.thing(answer['root']).replace(chr(10), ' ')}: "
        f"{things} {'thing' if things == 1 else 'things'}, "
        f"{events} {'event' if events == 1 else 'events'}",
        highlight=False,
    )
    graph = Table(title="what is made of what")
    for column in ("thing", "relation", "other thing"):
        graph.add_column(column, overflow="fold")
    for edge in answer["edges"]:
        subject, verb, other = SENTENCES.get(edge["relation"], ("from", edge["relation"], "to"))
        graph.add_row(labels.thing(edge[subject]), verb, labels.thing(edge[other]))
    console.print(graph)
    timeline = Table(title="timeline")
    for column in ("when", "what", "step", "where"):
        timeline.add_column(column, overflow="fold")
    for row in answer["timeline"]:
        kind = str(row["type"]).removesuffix("Event")
        timeline.add_row(
            _when(row["eventTime"]),
            f"{kind} {row['action'] or ''}".strip().lower(),
            str(row["bizStep"] or ""),
            labels.place(row["bizLocation"] or row["readPoint"]),
        )
    console.print(timeline)


def _when(stamp: str | None) -> str:
    """``2026-02-03T08:00:00.000+01:00`` -> ``2026-02-03 08:00 +01:00``."""
    found = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(.*)$", stamp or "")
    if found is None:
        return stamp or ""
    day, minute, zone = found.groups()
    return f"{day} {minute} {'UTC' if zone in ('Z', '+00:00') else zone}".strip()
