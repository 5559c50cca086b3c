"""``/search?q=``: one box over partners, projects, materials, products and items.

The registry finds the records (``registry.search``); the page links each hit
to its own page and an item to its GS1 Digital Link, which opens its passport.
A Digital Link pasted into the box (GS1 Digital Link 1.2 §4, e.g. read off a QR
code) finds its item too.
Materials show their public view (``passport.access``), as the API does.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mics import registry
from mics.api.deps import DatabaseDep
from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.passport import access
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.registry.schemas import ItemOut, MaterialView
from mics.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, db: DatabaseDep, q: str = "") -> HTMLResponse:
    found = registry.search(db, q)
    scanned = _scanned_item(db, found.text)
    if scanned is not None and scanned.id not in {i.id for i in found.items}:
        found = replace(found, items=(scanned, *found.items))
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


def _scanned_item(db: Database, text: str) -> ItemOut | None:
    """The item a pasted Digital Link names, if the text is one and the item exists."""
    if "/01/" not in text:
        return None
    try:
        link = parse_digital_link(text)
        return None if link.serial is None else registry.find_item(db, link.gtin, link.serial)
    except (InvalidInput, NotFound):
        return None
