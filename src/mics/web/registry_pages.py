"""Registry pages: spokes, projects, materials and partners, each a list and a record.

Public pages (no key): partners and projects are public records; a material
shows what ``passport.access`` gives the public tier (its supplier is for
authorities); a partner's products are its public product records.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mics import registry
from mics.api.deps import DatabaseDep
from mics.db import Database
from mics.errors import NotFound
from mics.passport import access
from mics.registry.schemas import MaterialView, PartnerOut, SpokeOut
from mics.web.pages import render

router = APIRouter(include_in_schema=False)
EVERY = 500  # the most records one page lists: the partnership has tens of each


@router.get("/spokes", response_class=HTMLResponse)
def spokes_page(request: Request, db: DatabaseDep) -> HTMLResponse:
    projects = registry.list_projects(db, limit=EVERY).items
    partners = registry.list_partners(db, limit=EVERY).items
    return render(
        request,
        "spokes.html",
        spokes=registry.list_spokes(db),
        project_count=Counter(p.spoke for p in projects),
        partner_count=Counter(s for p in partners for s in p.spokes),
    )


@router.get("/spokes/{spoke_id}", response_class=HTMLResponse)
def spoke_page(request: Request, db: DatabaseDep, spoke_id: str) -> HTMLResponse:
    spoke = _spoke(db, spoke_id)
    return render(
        request,
        "spoke.html",
        spoke=spoke,
        projects=registry.list_projects(db, spoke=spoke.id, limit=EVERY).items,
        partners=registry.list_partners(db, spoke=spoke.id, limit=EVERY).items,
        partner_names=_partner_names(db),
    )


@router.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, db: DatabaseDep) -> HTMLResponse:
    return render(
        request,
        "projects.html",
        projects=registry.list_projects(db, limit=EVERY),
        spokes={s.id: s for s in registry.list_spokes(db)},
        partner_names=_partner_names(db),
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(request: Request, db: DatabaseDep, project_id: str) -> HTMLResponse:
    project = registry.get_project(db, project_id)
    return render(
        request,
        "project.html",
        project=project,
        spoke=_spoke(db, str(project.spoke)),
        partners=[registry.get_partner(db, p) for p in project.partners],
    )


@router.get("/materials", response_class=HTMLResponse)
def materials_page(request: Request, db: DatabaseDep) -> HTMLResponse:
    materials = [_public(m.model_dump()) for m in registry.list_materials(db, limit=EVERY).items]
    return render(
        request,
        "materials.html",
        materials=sorted(materials, key=lambda m: (m.category, m.name)),
    )


@router.get("/materials/{material_id}", response_class=HTMLResponse)
def material_page(request: Request, db: DatabaseDep, material_id: str) -> HTMLResponse:
    material = _public(registry.get_material(db, material_id).model_dump())
    same = registry.list_materials(db, category=material.category, limit=EVERY).items
    return render(
        request,
        "material.html",
        material=material,
        alternatives=[_public(m.model_dump()) for m in same if m.id != material.id],
    )


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def partner_page(request: Request, db: DatabaseDep, partner_id: str) -> HTMLResponse:
    partner = registry.get_partner(db, partner_id)
    return render(
        request,
        "partner.html",
        partner=partner,
        spokes={s.id: s for s in registry.list_spokes(db)},
        sectors={s.id: s for s in registry.list_sectors(db)},
        projects=registry.list_projects(db, partner=partner.id, limit=EVERY).items,
        products=registry.list_products(db, brand=partner.id, limit=EVERY).items,
        competences=_competences(partner),
    )


def _public(record: dict[str, object]) -> MaterialView:
    return MaterialView.model_validate(access.filter_view("material", record, "public"))


def _spoke(db: Database, spoke_id: str) -> SpokeOut:
    spokes = {str(s.id): s for s in registry.list_spokes(db)}
    if spoke_id not in spokes:
        raise NotFound(
            f"no spoke {spoke_id!r}",
            field="spoke",
            value=spoke_id,
            expected="one of " + ", ".join(spokes),
        )
    return spokes[spoke_id]


def _partner_names(db: Database) -> dict[str, str]:
    return {p.id: p.name for p in registry.list_partners(db, limit=EVERY).items}


def _competences(partner: PartnerOut) -> list[str]:
    return [c.strip() for c in partner.competences.split(",") if c.strip()]
