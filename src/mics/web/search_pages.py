"""``/search?q=``: one box over partners, projects, materials, products and items.

The registry finds the records (``registry.search``); the page links each hit
to its own page and an item to its GS1 Digital Link, which opens its passport.
Materials show their public view (``passport.access``), as the API does.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mics import registry
from mics.api.deps import DatabaseDep
from mics.passport import access
from mics.passport.digital_link import DigitalLink
from mics.registry.schemas import MaterialView
from mics.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, db: DatabaseDep, q: str = "") -> HTMLResponse:
    found = registry.search(db, q)
    base_url = request.app.state.settings.base_url
    return render(
        request,
        "search.html",
        search_q=found.text,
        found=found,
        materials=[
            MaterialView.model_validate(access.filter_view("material", m.model_dump(), "public"))
            for m in found.materials
        ],
        links={i.id: DigitalLink(gtin=i.gtin, serial=i.serial).uri(base_url) for i in found.items},
    )
