"""Physical checks of new entries: no lot used beyond what the site holds, no claimed
item transformed further (its claimed content would be counted again)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mics.custody.ledger import EPS
from mics.custody.model import Claim, Entry
from mics.errors import Conflict


def check_entry(entry: Entry, claims: Sequence[Claim]) -> None:
    """Refuse a transformation of items or lots that already carry a claim: the claimed
    characteristic would be counted again in what is made of them."""
    if entry.kind != "transformation":
        return
    claimed = {i for c in claims for i in c.items} & {f.identifier for f in entry.inputs}
    if claimed:
        raise Conflict(
            "these carry a claim and cannot be transformed further",
            field="inputQuantityList",
            value=sorted(claimed),
        )


def overdrawn(entries: Iterable[Entry]) -> tuple[Entry, str, float, float] | None:
    """The first transformation that uses more of a lot than the site holds:
    (entry, identifier, kilograms used, kilograms held); None when all add up."""
    stock: dict[str, float] = {}
    for entry in sorted(entries, key=lambda e: (e.time, e.id)):
        if entry.kind == "transformation":
            for f in entry.inputs:
                if f.identifier in stock and f.kg > stock[f.identifier] * (1 + 1e-9) + EPS:
                    return entry, f.identifier, f.kg, stock[f.identifier]
                if f.identifier in stock:
                    stock[f.identifier] -= f.kg
        if entry.kind in ("receipt", "transformation"):
            for f in entry.outputs:
                stock[f.identifier] = stock.get(f.identifier, 0.0) + f.kg
    return None
