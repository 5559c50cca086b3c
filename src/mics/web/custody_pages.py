"""``/custody``: chain-of-custody sites, and a page per site with its balance per period
and a Sankey of the period's flows (server-side SVG, ``mics.custody.sankey``).

Public pages show what ``GET /api/custody/sites/{site}/balances`` shows anyone: the
figures and the claims' wording, no event ids, certificates or transaction documents.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from mics.api.deps import DatabaseDep
from mics.custody import reports, sankey
from mics.custody.pack import load
from mics.registry import get_partner
from mics.web.pages import templates

router = APIRouter(include_in_schema=False)
PERIOD = r"^(\d{4}(Q[1-4]|H[12]|-\d{2})?|\d{4}-\d{2}-\d{2}/\d{4}-\d{2}-\d{2})$"


@router.get("/custody", response_class=HTMLResponse)
async def custody_index(request: Request, db: DatabaseDep) -> HTMLResponse:
    found = await run_in_threadpool(reports.sites, db)
    shown = [
        {
            "site": get_partner(db, site),
            "accounts": kept,
            "packs": {a.pack: load(a.pack) for a in kept},
        }
        for site, kept in found
    ]
    return templates.TemplateResponse(request, "custody.html", {"sites": shown})


@router.get("/custody/sites/{site}", response_class=HTMLResponse)
async def custody_site(
    request: Request,
    db: DatabaseDep,
    site: str,
    period: Annotated[str | None, Query(max_length=40, pattern=PERIOD)] = None,
) -> HTMLResponse:
    partner = get_partner(db, site)
    known = await run_in_threadpool(reports.periods, db, site)
    chosen = period or (known[0] if known else None)
    accounts: list[dict[str, Any]] = []
    if chosen is not None:
        for found in await run_in_threadpool(reports.balances, db, site, chosen):
            bands = await run_in_threadpool(reports.flows, db, found.account, chosen)
            title = f"{found.account.material} flows at {partner.name}, {chosen}"
            accounts.append(
                {
                    "balance": found.as_json(evidence=False),
                    "pack": load(found.account.pack),
                    "sankey": Markup(sankey.svg(bands, title)),  # labels escaped in svg()
                }
            )
    return templates.TemplateResponse(
        request,
        "custody_site.html",
        {"partner": partner, "period": chosen, "periods": known, "accounts": accounts},
    )
