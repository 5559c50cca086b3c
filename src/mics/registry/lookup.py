"""Reads for the pages: one project by id, and one search over the whole registry.

``search(db, "oak")`` finds the text, case-insensitively and as a substring, in
partners (name, competences, city), projects (id, title, summary), materials
(id, name, category), products (id, name, GTIN, description) and items (serial
or lot, from its start). ``%`` and ``_`` in the text are matched literally.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from mics.db import Database
from mics.errors import InvalidInput
from mics.registry.products import _item_out, _product_out
from mics.registry.schemas import ItemOut, MaterialOut, PartnerOut, ProductOut, ProjectOut
from mics.registry.service import _get, _material_out, _partner_out, _project_out
from mics.registry.store import ItemRow, MaterialRow, PartnerRow, ProductRow, ProjectRow

MAX_QUERY = 200


@dataclass(frozen=True)
class SearchResults:
    """What matched, at most ``limit`` of each kind; ``total`` counts all the hits."""

    text: str
    partners: tuple[PartnerOut, ...] = ()
    projects: tuple[ProjectOut, ...] = ()
    materials: tuple[MaterialOut, ...] = ()
    products: tuple[ProductOut, ...] = ()
    items: tuple[ItemOut, ...] = ()

    @property
    def total(self) -> int:
        return sum(
            len(kind)
            for kind in (self.partners, self.projects, self.materials, self.products, self.items)
        )


def get_project(db: Database, project_id: str) -> ProjectOut:
    with db.read() as s:
        return _project_out(_get(s, ProjectRow, project_id, "project"))


def search(db: Database, text: str, *, limit: int = 20) -> SearchResults:
    """Every kind of registry record whose words hold ``text`` (see the module docstring)."""
    wanted = text.strip()
    if len(wanted) > MAX_QUERY:
        raise InvalidInput(
            f"a search text is at most {MAX_QUERY} characters",
            field="q",
            value=wanted[:40] + "...",
            expected=f"1 to {MAX_QUERY} characters",
        )
    if not wanted:
        return SearchResults(text="")
    low = wanted.lower()

    def holds(*columns: InstrumentedAttribute[str]) -> ColumnElement[bool]:
        return or_(*(func.lower(c).contains(low, autoescape=True) for c in columns))

    with db.read() as s:
        partners = s.scalars(
            select(PartnerRow)
            .where(PartnerRow.member.is_(True))
            .where(holds(PartnerRow.name, PartnerRow.competences, PartnerRow.city))
            .order_by(PartnerRow.name)
            .limit(limit)
        )
        projects = s.scalars(
            select(ProjectRow)
            .where(holds(ProjectRow.id, ProjectRow.title, ProjectRow.summary))
            .order_by(ProjectRow.title)
            .limit(limit)
        )
        materials = s.scalars(
            select(MaterialRow)
            .where(holds(MaterialRow.id, MaterialRow.name, MaterialRow.category))
            .order_by(MaterialRow.name)
            .limit(limit)
        )
        products = s.scalars(
            select(ProductRow)
            .where(holds(ProductRow.id, ProductRow.name, ProductRow.gtin, ProductRow.description))
            .order_by(ProductRow.name)
            .limit(limit)
        )
        items = s.execute(
            select(ItemRow, ProductRow.gtin)
            .join(ProductRow)
            .where(
                or_(
                    ItemRow.serial.startswith(wanted, autoescape=True),
                    ItemRow.lot.startswith(wanted, autoescape=True),
                )
            )
            .order_by(ItemRow.product_id, ItemRow.serial)
            .limit(limit)
        )
        return SearchResults(
            text=wanted,
            partners=tuple(_partner_out(r) for r in partners),
            projects=tuple(_project_out(r) for r in projects),
            materials=tuple(_material_out(r) for r in materials),
            products=tuple(_product_out(r) for r in products),
            items=tuple(_item_out(r, g) for r, g in items),
        )
