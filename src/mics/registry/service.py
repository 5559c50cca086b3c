"""Registry services: each call is one transaction of domain checks and store calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound
from mics.registry import domain
from mics.registry.schemas import (
    MaterialIn,
    MaterialOut,
    MaterialPatch,
    Page,
    PartnerIn,
    PartnerOut,
    PartnerPatch,
    ProjectIn,
    ProjectOut,
    SectorOut,
    SpokeOut,
)
from mics.registry.store import (
    MaterialRow,
    PartnerRow,
    ProjectRow,
    SectorRow,
    SpokeRow,
)

MAX_PAGE = 500


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(
            "page size out of range", field="limit", value=limit, expected=f"1..{MAX_PAGE}"
        )
    if not 0 <= offset < 2**31:
        raise InvalidInput(
            "offset out of range", field="offset", value=offset, expected="an integer in 0..2**31-1"
        )


def _page(
    session: Session, query: Select[Any] | Any, limit: int, offset: int, *, tuples: bool = False
) -> tuple[list[Any], int]:
    """One page of ``query`` (ORM rows, or whole result tuples) and the total count."""
    check_page(limit, offset)
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page = query.limit(limit).offset(offset)
    rows = list(session.execute(page).all()) if tuples else list(session.scalars(page))
    return rows, total


# --- sectors and spokes -------------------------------------------------------------------


def list_sectors(db: Database) -> list[SectorOut]:
    with db.read() as s:
        return [
            SectorOut(id=r.id, name=r.name, scope=r.scope)
            for r in s.scalars(select(SectorRow).order_by(SectorRow.id))
        ]


def list_spokes(db: Database) -> list[SpokeOut]:
    with db.read() as s:
        return [
            SpokeOut(id=r.id, title=r.title, short=r.short)
            for r in s.scalars(select(SpokeRow).order_by(SpokeRow.id))
        ]


def put_sector(s: Session, sector: SectorOut) -> None:
    s.merge(SectorRow(id=domain.check_slug(sector.id), name=sector.name, scope=sector.scope))


def put_spoke(s: Session, spoke: SpokeOut) -> None:
    if not 1 <= spoke.id <= 99:
        raise InvalidInput("spoke numbers run from 1", field="id", value=spoke.id, expected="1..99")
    s.merge(SpokeRow(id=spoke.id, title=spoke.title, short=spoke.short))


# --- partners -----------------------------------------------------------------------------


def _partner_out(r: PartnerRow) -> PartnerOut:
    return PartnerOut(
        id=r.id,
        name=r.name,
        kind=r.kind,
        is_public=r.is_public,
        sectors=[x.id for x in r.sectors],
        spokes=[x.id for x in r.spokes],
        competences=r.competences,
        city=r.city,
        website=r.website,
        fictional=r.fictional,
        gln=r.gln,
    )


def _refs(s: Session, model: type[Any], ids: Sequence[Any], field: str) -> list[Any]:
    rows = []
    for i, ref in enumerate(ids):
        row = s.get(model, ref)
        if row is None:
            raise InvalidInput(
                f"unknown id {ref!r}",
                field=f"{field}[{i}]",
                value=ref,
                expected=f"the id of an existing {model.__tablename__}",
            )
        rows.append(row)
    return rows


def put_partner(s: Session, p: PartnerIn, *, replace: bool) -> PartnerRow:
    domain.check_slug(p.id)
    row = s.get(PartnerRow, p.id)
    if row is not None and not replace:
        raise Conflict(f"partner {p.id!r} already exists", field="id", value=p.id)
    if row is None:
        row = PartnerRow(id=p.id)
        s.add(row)
    row.name, row.kind, row.is_public = p.name, p.kind, p.is_public
    row.city, row.website, row.competences, row.fictional = (
        p.city,
        p.website,
        p.competences,
        p.fictional,
    )
    row.gln = domain.check_gln(p.gln) if p.gln else None
    clash = (
        s.scalar(select(PartnerRow.id).where(PartnerRow.gln == row.gln, PartnerRow.id != p.id))
        if row.gln
        else None
    )
    if clash is not None:
        raise Conflict(
            f"GLN {row.gln} already belongs to partner {clash!r}", field="gln", value=p.gln
        )
    row.sectors = _refs(s, SectorRow, p.sectors, "sectors")
    row.spokes = _refs(s, SpokeRow, p.spokes, "spokes")
    return row


def create_partner(db: Database, p: PartnerIn) -> PartnerOut:
    with db.transaction() as s:
        row = put_partner(s, p, replace=False)
        s.flush()
        return _partner_out(row)


def get_partner(db: Database, partner_id: str) -> PartnerOut:
    with db.read() as s:
        return _partner_out(_get(s, PartnerRow, partner_id, "partner"))


def update_partner(db: Database, partner_id: str, patch: PartnerPatch) -> PartnerOut:
    with db.transaction() as s:
        current = _partner_out(_get(s, PartnerRow, partner_id, "partner"))
        merged = merge(PartnerIn, current, patch)
        row = put_partner(s, merged, replace=True)
        s.flush()
        return _partner_out(row)


def list_partners(
    db: Database,
    *,
    kind: str | None = None,
    sector: str | None = None,
    spoke: int | None = None,
    is_public: bool | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[PartnerOut]:
    query = select(PartnerRow).where(PartnerRow.member.is_(True))
    query = query.order_by(PartnerRow.name, PartnerRow.id)
    if kind is not None:
        query = query.where(
            PartnerRow.kind == domain.check_choice(kind, domain.PARTNER_KINDS, "kind")
        )
    if sector is not None:
        query = query.where(PartnerRow.sectors.any(SectorRow.id == sector))
    if spoke is not None:
        query = query.where(PartnerRow.spokes.any(SpokeRow.id == spoke))
    if is_public is not None:
        query = query.where(PartnerRow.is_public == is_public)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(PartnerRow.name).like(like),
                func.lower(PartnerRow.competences).like(like),
                func.lower(PartnerRow.city).like(like),
            )
        )
    with db.read() as s:
        rows, total = _page(s, query, limit, offset)
        return Page(items=[_partner_out(r) for r in rows], total=total, limit=limit, offset=offset)


# --- projects -----------------------------------------------------------------------------


def _project_out(r: ProjectRow) -> ProjectOut:
    return ProjectOut(
        id=r.id,
        title=r.title,
        spoke=r.spoke_id,
        partners=[p.id for p in r.partners],
        summary=r.summary,
        status=r.status,
    )


def put_project(s: Session, p: ProjectIn, *, replace: bool) -> ProjectRow:
    domain.check_slug(p.id)
    row = s.get(ProjectRow, p.id)
    if row is not None and not replace:
        raise Conflict(f"project {p.id!r} already exists", field="id", value=p.id)
    _refs(s, SpokeRow, [p.spoke], "spoke")
    if row is None:
        row = ProjectRow(id=p.id)
        s.add(row)
    row.title, row.spoke_id, row.summary, row.status = p.title, p.spoke, p.summary, p.status
    row.partners = _refs(s, PartnerRow, p.partners, "partners")
    return row


def create_project(db: Database, p: ProjectIn) -> ProjectOut:
    with db.transaction() as s:
        row = put_project(s, p, replace=False)
        s.flush()
        return _project_out(row)


def list_projects(
    db: Database,
    *,
    spoke: int | None = None,
    status: str | None = None,
    partner: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[ProjectOut]:
    query = select(ProjectRow).order_by(ProjectRow.spoke_id, ProjectRow.id)
    if spoke is not None:
        query = query.where(ProjectRow.spoke_id == spoke)
    if status is not None:
        query = query.where(
            ProjectRow.status == domain.check_choice(status, domain.PROJECT_STATUSES, "status")
        )
    if partner is not None:
        query = query.where(ProjectRow.partners.any(PartnerRow.id == partner))
    with db.read() as s:
        rows, total = _page(s, query, limit, offset)
        return Page(items=[_project_out(r) for r in rows], total=total, limit=limit, offset=offset)


# --- materials ----------------------------------------------------------------------------


def _material_out(r: MaterialRow) -> MaterialOut:
    return MaterialOut(
        id=r.id,
        name=r.name,
        category=r.category,
        density_kg_m3=r.density_kg_m3,
        recycled_share=r.recycled_share,
        bio_based_share=r.bio_based_share,
        country=r.country,
        supplier=r.supplier_id,
        lca_process=r.lca_process,
    )


def put_material(s: Session, m: MaterialIn, *, replace: bool) -> MaterialRow:
    domain.check_slug(m.id)
    row = s.get(MaterialRow, m.id)
    if row is not None and not replace:
        raise Conflict(f"material {m.id!r} already exists", field="id", value=m.id)
    values = {
        "name": m.name,
        "category": m.category,
        "density_kg_m3": domain.check_positive(m.density_kg_m3, "density_kg_m3", "kg/m3"),
        "recycled_share": domain.check_share(m.recycled_share, "recycled_share"),
        "bio_based_share": domain.check_share(m.bio_based_share, "bio_based_share"),
        "country": domain.check_country(m.country),
        "supplier_id": m.supplier,
        "lca_process": m.lca_process,
    }
    if m.supplier is not None:
        _refs(s, PartnerRow, [m.supplier], "supplier")
    if row is None:
        row = MaterialRow(id=m.id)
        s.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def create_material(db: Database, m: MaterialIn) -> MaterialOut:
    with db.transaction() as s:
        row = put_material(s, m, replace=False)
        s.flush()
        return _material_out(row)


def get_material(db: Database, material_id: str) -> MaterialOut:
    with db.read() as s:
        return _material_out(_get(s, MaterialRow, material_id, "material"))


def update_material(db: Database, material_id: str, patch: MaterialPatch) -> MaterialOut:
    with db.transaction() as s:
        current = _material_out(_get(s, MaterialRow, material_id, "material"))
        merged = merge(MaterialIn, current, patch)
        row = put_material(s, merged, replace=True)
        s.flush()
        return _material_out(row)


def list_materials(
    db: Database,
    *,
    category: str | None = None,
    country: str | None = None,
    supplier: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[MaterialOut]:
    query = select(MaterialRow).order_by(MaterialRow.category, MaterialRow.id)
    if category is not None:
        query = query.where(MaterialRow.category == category)
    if country is not None:
        query = query.where(MaterialRow.country == country)
    if supplier is not None:
        query = query.where(MaterialRow.supplier_id == supplier)
    with db.read() as s:
        rows, total = _page(s, query, limit, offset)
        return Page(items=[_material_out(r) for r in rows], total=total, limit=limit, offset=offset)


ModelT = TypeVar("ModelT", bound=BaseModel)


def merge(model: type[ModelT], current: BaseModel | dict[str, Any], patch: BaseModel) -> ModelT:
    """``current`` with the fields ``patch`` sets, checked as a whole ``model``."""
    base = current if isinstance(current, dict) else current.model_dump()
    values = base | patch.model_dump(exclude_unset=True)
    try:
        return model.model_validate({k: v for k, v in values.items() if k in model.model_fields})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            first["msg"], field=where, value=first.get("input"), expected=first["msg"]
        ) from error


def _get(s: Session, model: type[Any], key: Any, noun: str) -> Any:
    row = s.get(model, key)
    if row is None:
        raise NotFound(f"no {noun} with id {key!r}", field="id", value=key)
    return row
