"""The MICS structure (3 sectors, 8 spokes) and the fictional demo registry."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mics.db import Database
from mics.errors import Conflict
from mics.registry import exchange, service
from mics.registry.products import put_item
from mics.registry.schemas import ItemIn, PartnerIn, SectorOut, SpokeOut
from mics.registry.store import PartnerRow


def _data(name: str) -> dict[str, Any]:
    text = resources.files("mics.registry").joinpath("data", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_structure(db: Database) -> tuple[int, int]:
    """Sectors and spokes of the partnership, as the source text names them."""
    data = _data("structure.json")
    with db.transaction() as s:
        for sector in data["sectors"]:
            service.put_sector(s, SectorOut(**sector))
        for spoke in data["spokes"]:
            service.put_spoke(s, SpokeOut(**spoke))
    return len(data["sectors"]), len(data["spokes"])


def load_demo_registry(db: Database) -> dict[str, int]:
    """Partners, projects, materials, products and items; running it twice adds nothing."""
    load_structure(db)
    data = _data("demo.json")
    counts = exchange.load(db, {k: data[k] for k in exchange.KINDS})
    added = 0
    with db.transaction() as s:
        for raw in data["items"]:
            item = ItemIn(**raw)
            try:
                put_item(s, item)
                added += 1
            except Conflict:
                continue
    counts["items"] = len(data["items"])
    counts["items_added"] = added
    return counts


def ensure_instance(db: Database, operator: str) -> None:
    """The partnership's structure and this instance's own operator partner."""
    load_structure(db)
    with db.transaction() as s:
        if s.get(PartnerRow, operator) is None:
            service.put_partner(
                s,
                PartnerIn(
                    id=operator,
                    name="MICS platform operator (this instance)",
                    kind="public_body",
                    is_public=True,
                    competences="runs this MICS instance: registry, EPCIS repository, log",
                ),
                replace=False,
            ).member = False
