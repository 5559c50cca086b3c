"""``/products/{id}/footprint``: the eco-design page, its charts drawn as server-side SVG.

Nothing fetched from elsewhere: the stacked bar by life-cycle stage, the MCI
gauge and the variant comparison are inline ``<svg>`` elements that scale to
the screen (``viewBox`` with ``width: 100%``); the what-if panel
(``mics.web.whatif``) adds one small script of the package's own. A page is public: it shows what
``passport.access`` gives the public tier, as ``/api/products/{id}/footprint`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from mics import registry
from mics.api import compute
from mics.api.deps import DatabaseDep
from mics.footprint import service
from mics.footprint.assessment import Alternative
from mics.passport import access
from mics.web import i18n
from mics.web.pages import templates

router = APIRouter(include_in_schema=False)

STAGE_COLOURS: Mapping[str, str] = {
    "materials": "#0f7b5f",
    "manufacturing": "#3a5a98",
    "transport": "#b7791f",
    "use": "#b42318",
    "end_of_life": "#667085",
}
STAGE_LABELS: Mapping[str, str] = {
    "materials": "Materials",
    "manufacturing": "Manufacturing",
    "transport": "Transport",
    "use": "Use",
    "end_of_life": "End of life",
}


@router.get("/products/{product_id}/footprint", response_class=HTMLResponse)
async def footprint_page(
    request: Request,
    db: DatabaseDep,
    product_id: str,
    monte_carlo: Annotated[int, Query(ge=0, le=compute.PUBLIC_WORK)] = 500,
    cutoff: Annotated[float, Query(ge=0.0, lt=1.0)] = 0.02,
    variant: Annotated[str, Query(max_length=2000, description="a what-if variant")] = "",
) -> HTMLResponse:
    from mics.web import whatif  # it draws with this module's charts

    # A public page: what it runs is weighed, kept and pooled as an anonymous API call.
    product = registry.get_product(db, product_id)
    run = await run_in_threadpool(
        service.footprint_run, db, product.id, monte_carlo=monte_carlo, cutoff=cutoff
    )
    result = await compute.run(request, run, None, field="monte_carlo", value=monte_carlo)
    circ = await run_in_threadpool(service.circularity, db, product.id)
    compare = await run_in_threadpool(service.alternatives_run, db, product.id, (), iterations=200)
    alts = await compute.run(request, compare, None, field="iterations", value=200)
    body = access.filter_view("footprint", result.as_json(), "public")
    lang = i18n.language(request)
    return templates.TemplateResponse(
        request,
        "footprint.html",
        {
            "lang": lang,
            "whatif": await whatif.panel(request, db, product.id),
            "names": whatif.material_names(db),
            "product": product,
            "fp": body,
            "circ": access.filter_view("circularity", circ.as_json(), "public"),
            "alternatives": [a.as_json() for a in alts],
            "stage_bar": stage_bar(body["by_stage"], body["unit"]),
            "gauge": mci_gauge(circ.mci.mci),
            "comparison": comparison_chart(alts, body["unit"]),
            "stage_colours": STAGE_COLOURS,
            "stage_labels": whatif.stage_labels(lang),
        },
        headers={"Content-Language": lang, "Vary": "Accept-Language"},
    )


def stage_bar(by_stage: Mapping[str, float], unit: str) -> Markup:
    """One horizontal bar split into the life-cycle stages, widths proportional to each."""
    width, height = 600.0, 44.0
    total = sum(max(v, 0.0) for v in by_stage.values()) or 1.0
    x = 0.0
    rects = []
    for stage, value in by_stage.items():
        w = width * max(value, 0.0) / total
        if w <= 0:
            continue
        label = f"{STAGE_LABELS.get(stage, stage)}: {value:.3f} {unit} ({value / total:.0%})"
        rects.append(
            f'<rect class="stage-{escape(stage)}" x="{x:.2f}" y="0" width="{w:.2f}" '
            f'height="{height:.0f}" fill="{STAGE_COLOURS.get(stage, "#999")}">'
            f"<title>{escape(label)}</title></rect>"
        )
        if w > 48:
            rects.append(
                f'<text x="{x + w / 2:.2f}" y="27" text-anchor="middle" fill="#fff" '
                f'font-size="13">{value / total:.0%}</text>'
            )
        x += w
    return Markup(
        f'<svg class="chart stage-bar" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="GWP100 by life-cycle stage" preserveAspectRatio="none">'
        + "".join(rects)
        + "</svg>"
    )


def mci_gauge(mci: float) -> Markup:
    """A half-circle gauge from 0 (linear) to 1 (fully circular)."""
    value = min(max(mci, 0.0), 1.0)
    cx, cy, r = 100.0, 100.0, 80.0

    def point(share: float) -> tuple[float, float]:
        angle = math.pi * (1.0 - share)
        return cx + r * math.cos(angle), cy - r * math.sin(angle)

    x0, y0 = point(0.0)
    x1, y1 = point(1.0)
    xv, yv = point(value)
    colour = "#b42318" if value < 0.3 else "#b7791f" if value < 0.6 else "#0f7b5f"
    return Markup(
        '<svg class="chart gauge" viewBox="0 0 200 120" role="img" '
        f'aria-label="Material Circularity Indicator {value:.2f}">'
        f'<path d="M {x0:.2f} {y0:.2f} A {r} {r} 0 0 1 {x1:.2f} {y1:.2f}" fill="none" '
        'stroke="#e4e7ec" stroke-width="18"/>'
        f'<path class="gauge-value" d="M {x0:.2f} {y0:.2f} A {r} {r} 0 0 1 {xv:.2f} {yv:.2f}" '
        f'fill="none" stroke="{colour}" stroke-width="18"/>'
        f'<text x="100" y="95" text-anchor="middle" font-size="28" font-weight="700">'
        f"{value:.2f}</text>"
        '<text x="20" y="116" font-size="11" fill="#667085">0 linear</text>'
        '<text x="180" y="116" font-size="11" text-anchor="end" fill="#667085">1 circular</text>'
        "</svg>"
    )


def comparison_chart(alternatives: Sequence[Alternative], unit: str) -> Markup:
    """Per variant, the product's and the variant's GWP100 per year of service."""
    if not alternatives:
        return Markup("")
    row, bar, left, width = 64.0, 20.0, 150.0, 600.0
    top = max(max(a.baseline.per_year, a.alternative.per_year) for a in alternatives) or 1.0
    scale = (width - left - 90.0) / top
    parts = []
    for k, alt in enumerate(alternatives):
        y = k * row + 6
        parts.append(f'<text x="0" y="{y + 16:.0f}" font-size="12">{escape(alt.variant.id)}</text>')
        for j, (name, value, colour) in enumerate(
            (
                ("as designed", alt.baseline.per_year, "#98a2b3"),
                ("variant", alt.alternative.per_year, "#0f7b5f"),
            )
        ):
            yy = y + j * (bar + 4)
            parts.append(
                f'<rect class="bar-{name.replace(" ", "-")}" x="{left}" y="{yy:.0f}" '
                f'width="{max(value, 0.0) * scale:.2f}" height="{bar:.0f}" fill="{colour}">'
                f"<title>{escape(name)}: {value:.3f} {escape(unit)} per year</title></rect>"
                f'<text x="{left + max(value, 0.0) * scale + 4:.2f}" y="{yy + 15:.0f}" '
                f'font-size="11">{value:.3f}</text>'
            )
        verdict = ""
        if alt.comparison is not None:
            verdict = "significant" if alt.comparison.significant else "not significant"
        delta = alt.alternative.per_year - alt.baseline.per_year
        parts.append(
            f'<text x="0" y="{y + 34:.0f}" font-size="11" fill="#667085">'
            f"{delta:+.3f} {escape(verdict)}</text>"
        )
    height = row * len(alternatives)
    return Markup(
        f'<svg class="chart comparison" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="GWP100 per year of service, as designed and per variant">'
        + "".join(parts)
        + "</svg>"
    )
