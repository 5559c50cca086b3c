"""What-if footprints: change a product's design on its footprint page and see it move.

The reader changes a material, a material's supplier country, a shaping
process, the lifetime or the use-phase energy; the footprint service compares
that variant with the product as designed (``footprint.service.alternatives_run``,
no Monte Carlo: ~10 ms on the demo, see ``bench/whatif.py``), and the panel shows
GWP100, the EMF MCI, the stage bar and a Sankey diagram for the variant.

The variant travels in the URL as ``?variant=`` in the footprint service's inline
syntax (``material:leather-chrome=leather-vegetable,lifetime=20``, as on the
command line and in ``/api/products/{id}/alternatives``), so it can be shared.
The form works without script (it submits its fields to the page); with
``static/whatif.js`` each change fetches ``/products/{id}/footprint/whatif`` and
swaps the panel in place. Materials, stages, processes and countries are shown
by name, never by id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from mics import registry
from mics.api import compute
from mics.api.deps import DatabaseDep
from mics.db import Database
from mics.errors import InvalidInput
from mics.footprint import service
from mics.footprint.assessment import Alternative
from mics.footprint.inventory import USE_PHASE
from mics.footprint.parameters import shipped_parameters
from mics.footprint.profile import profile_for
from mics.footprint.variants import Variant, resolve
from mics.registry.schemas import MaterialOut
from mics.web import i18n, sankey
from mics.web.footprint_pages import STAGE_COLOURS, STAGE_LABELS, stage_bar
from mics.web.pages import render

router = APIRouter(include_in_schema=False)
EVERY = 500


@dataclass(frozen=True)
class Design:
    """What the form starts from: the product as designed and what may replace each part."""

    product: str
    materials: tuple[str, ...]  # material ids the product is made of
    processes: tuple[str, ...]  # shaping processes it uses
    countries: Mapping[str, str]  # material id -> its supplier's country
    lifetime_years: float
    use_kwh_per_year: float


def design(db: Database, product_id: str) -> Design:
    facts = service.product_facts(db, product_id)
    parts = facts.parts
    return Design(
        facts.id,
        tuple(dict.fromkeys(p.material for p in parts)),
        tuple(dict.fromkeys(p.process for p in parts if p.process not in ("", "none"))),
        {p.material: p.country for p in parts},
        facts.lifetime_years,
        profile_for(facts.id, facts.sector).use_kwh_per_year,
    )


def spec_from_form(form: Mapping[str, str], d: Design) -> str:
    """The inline variant for the form's fields: only what differs from the design."""
    changes = []
    for m in d.materials:
        new = form.get(f"material:{m}", m)
        if new and new != m:
            changes.append(f"material:{m}={new}")
    for m in d.materials:
        if country := form.get(f"country:{m}", ""):
            changes.append(f"country:{m}={country}")
    for p in d.processes:
        new = form.get(f"process:{p}", "")
        if new and new != p:
            changes.append(f"process:{p}={new}")
    for key, base in (("lifetime", d.lifetime_years), ("use", d.use_kwh_per_year)):
        text = form.get(key, "").strip()
        if text:
            value = _number(key, text)
            if not math.isclose(value, base, rel_tol=1e-9, abs_tol=1e-12):
                changes.append(f"{key}={value:g}")
    return ",".join(changes)


def requested_spec(params: Mapping[str, str], d: Design) -> str:
    """``?variant=`` when given, else the form's fields (the page without script)."""
    if "variant" in params:
        return params["variant"].strip()
    return spec_from_form(params, d)


async def assess(request: Request, db: Database, d: Design, spec: str) -> dict[str, Any]:
    """The panel's figures for ``spec`` (empty: the design itself, compared with itself)."""
    chosen = resolve(spec, d.product) if spec else None
    run = await run_in_threadpool(
        service.alternatives_run,
        db,
        d.product,
        # no change asked: the design against itself, so the panel has one path
        [spec or "lifetime=" + repr(d.lifetime_years)],
        iterations=0,
    )
    alt: Alternative = (await compute.run(request, run, None, field="iterations", value=0))[0]
    lang = i18n.language(request)
    names = material_names(db)
    body = alt.as_json()
    method = alt.alternative.method
    lines = [  # by material and stage: components stay out of a public page (passport.access)
        (_source(line["material"], names, lang), line["stage"], line[method])
        for line in alt.alternative.as_json()["lines"]
    ]
    found, credits = sankey.flows(lines)
    labels = stage_labels(lang)
    unit = alt.alternative.unit
    return {
        "spec": spec,
        "variant": chosen,
        "changes": describe(chosen, names, lang) if chosen else [],
        "base": body["baseline"],
        "alt": body["alternative"],
        "delta": body["delta"],
        "unit": unit,
        "stage_bar": stage_bar(body["alternative"]["by_stage"], unit),
        "base_bar": stage_bar(body["baseline"]["by_stage"], unit),
        "sankey": sankey.sankey(
            found,
            list(STAGE_LABELS),
            labels,
            STAGE_COLOURS,
            unit,
            i18n.translate(lang, "Where the footprint comes from"),
        ),
        "credits": credits,
        "stage_labels": labels,
        "stage_colours": STAGE_COLOURS,
    }


async def panel(request: Request, db: Database, product_id: str) -> dict[str, Any]:
    """The form and the figures for the footprint page, from the request's query."""
    d = design(db, product_id)
    spec = requested_spec(request.query_params, d)
    figures = await assess(request, db, d, spec)
    chosen = figures["variant"]
    catalogue = registry.list_materials(db, limit=EVERY).items
    by_id = {m.id: m for m in catalogue}
    return {
        "design": d,
        "figures": figures,
        "material_choice": {m: chosen.material.get(m, m) if chosen else m for m in d.materials},
        "country_choice": {m: chosen.country.get(m, "") if chosen else "" for m in d.materials},
        "process_choice": {p: chosen.process.get(p, p) if chosen else p for p in d.processes},
        "lifetime": chosen.lifetime_years if chosen and chosen.lifetime_years else d.lifetime_years,
        "use": chosen.use_kwh_per_year
        if chosen and chosen.use_kwh_per_year is not None
        else d.use_kwh_per_year,
        "replacements": {m: _same_category(by_id[m], catalogue) for m in d.materials},
        "material_names": {m.id: m.name for m in catalogue},
        "countries": countries(),
        "routes": routes(),
    }


@router.get("/products/{product_id}/footprint/whatif", response_class=HTMLResponse)
async def whatif_fragment(request: Request, db: DatabaseDep, product_id: str) -> HTMLResponse:
    """The figures alone, for ``whatif.js`` to swap in: ``data-variant`` is the URL's form."""
    d = design(db, product_id)
    figures = await assess(request, db, d, requested_spec(request.query_params, d))
    return render(request, "whatif_figures.html", figures=figures, product_id=d.product)


def describe(chosen: Variant, names: Mapping[str, str], lang: str) -> list[str]:
    """The variant's changes in words, materials and countries by name."""
    t = i18n.translate
    out = [
        t(lang, "{new} instead of {old}", old=names.get(a, a), new=names.get(b, b))
        for a, b in chosen.material.items()
    ]
    out += [
        t(
            lang,
            "{material} supplied from {country}",
            material=names.get(m, m),
            country=i18n.name("country", c, lang),
        )
        for m, c in chosen.country.items()
    ]
    out += [
        t(
            lang,
            "{new} instead of {old}",
            old=i18n.name("process", a, lang),
            new=i18n.name("process", b, lang),
        )
        for a, b in chosen.process.items()
    ]
    if chosen.lifetime_years is not None:
        out.append(t(lang, "lifetime {years} years", years=f"{chosen.lifetime_years:g}"))
    if chosen.use_kwh_per_year is not None:
        out.append(t(lang, "use {kwh} kWh a year", kwh=f"{chosen.use_kwh_per_year:g}"))
    return out


def _source(material: str, names: Mapping[str, str], lang: str) -> str:
    """A footprint line's source by name: its material's, else the product's own (use phase)."""
    if material in names:
        return names[material]
    return i18n.translate(lang, "Use phase" if material == USE_PHASE else "Product as a whole")


def material_names(db: Database) -> dict[str, str]:
    return {m.id: m.name for m in registry.list_materials(db, limit=EVERY).items}


def stage_labels(lang: str) -> dict[str, str]:
    return {s: i18n.translate(lang, label) for s, label in STAGE_LABELS.items()}


def countries() -> tuple[str, ...]:
    """The countries the transport data has legs for (ISO 3166-1 alpha-2)."""
    return tuple(sorted(c for c in shipped_parameters().transport if c != "*"))


def routes() -> tuple[str, ...]:
    """The shaping processes the manufacturing data knows."""
    return tuple(sorted(r for r in shipped_parameters().manufacturing if r != "none"))


def _same_category(material: MaterialOut, catalogue: list[MaterialOut]) -> list[MaterialOut]:
    """Materials that can stand in: the same category, with a footprint dataset process."""
    return [
        m
        for m in catalogue
        if m.category == material.category and (m.lca_process or m.id == material.id)
    ]


def _number(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidInput(
            f"{key} must be a number",
            field=key,
            value=text,
            expected="a number, e.g. 12.5" if key == "lifetime" else "kWh a year, e.g. 20",
        )
    return value
