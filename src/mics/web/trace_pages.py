"""``/trace``: what an EPC, lot or item was made from or into, as a graph, a timeline and a map;
``/trace/recall``: which items contain lot L, with a CSV export.

The genealogy is ``mics.trace.genealogy`` (EPCIS 2.0 §7.4 relations) for the viewer
``/api/trace`` would use for the same key (``mics.api.deps.event_viewer``): a partner
key sees the chain through its own events and those naming it, as in the API.
Places come from the events' business locations and read points (GS1 GLNs) through
the registry (``mics.registry.places``).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from mics import registry
from mics.api.deps import DatabaseDep
from mics.cli.trace_view import Labels
from mics.db import Database
from mics.errors import InvalidInput, MicsError, NotFound
from mics.registry.exchange import inert_cell
from mics.registry.places import Place, places_by_gln
from mics.trace import genealogy, lookup
from mics.trace.canonical_uri import canonical
from mics.trace.query import Viewer
from mics.web.event_cards import when
from mics.web.events_pages import viewer_or_refusal
from mics.web.i18n import language, translate
from mics.web.pages import templates
from mics.web.trace_graph import graph_svg
from mics.web.trace_map import Pin, map_svg
from mics.web.visitor import VisitorDep, render

router = APIRouter(include_in_schema=False)
_GLN = re.compile(r"/(?:414|417)/(\d{13})")
_ITEM = re.compile(r"^https://id\.gs1\.org/01/(\d{14})/21/(.+)$")
RECALL_COLUMNS = ("serial", "gtin", "product", "item_lot", "digital_link")


def _direction_for(uri: str) -> str:
    """A lot is traced downstream by default (a recall), an item upstream (its origins)."""
    return "upstream" if "/21/" in uri or "/00/" in uri else "downstream"


def _pins(timeline: list[dict[str, Any]], places: dict[str, Place]) -> tuple[list[Pin], list[int]]:
    """One pin per city on the way (its partners named), in order of first visit, and the
    route between them."""
    cities: dict[str, list[Place]] = {}
    route: list[int] = []
    for row in timeline:
        found = _GLN.search(row.get("bizLocation") or row.get("readPoint") or "")
        place = places.get(found.group(1) if found else "")
        if place is None:
            continue
        here = cities.setdefault(place.city, [])
        if place not in here:
            here.append(place)
        at = list(cities).index(place.city)
        if not route or route[-1] != at:
            route.append(at)
    pins = [
        Pin(city, sites[0].latitude, sites[0].longitude, ", ".join(s.name for s in sites))
        for city, sites in cities.items()
    ]
    return pins, route


@router.get("/trace", response_class=HTMLResponse)
def trace_page(
    request: Request, db: DatabaseDep, visitor: VisitorDep, epc: str = "", direction: str = ""
) -> HTMLResponse:
    viewer = viewer_or_refusal(request, db, visitor, "Trace")
    if isinstance(viewer, HTMLResponse):
        return viewer
    context: dict[str, Any] = {"epc": epc, "direction": direction, "error": None, "answer": None}
    context["lots"] = _known_lots(db)
    status = 200
    if epc.strip():
        try:
            if direction not in ("", "upstream", "downstream"):
                raise InvalidInput(
                    "unknown direction",
                    field="direction",
                    value=direction,
                    expected="upstream or downstream",
                )
            root, extra = lookup.resolve(db, epc)
            way: genealogy.Direction = (
                "upstream" if (direction or _direction_for(root)) == "upstream" else "downstream"
            )
            answer = genealogy.trace(db, root, way, viewer, extra).as_json()
            context.update(_drawn(db, answer, language(request)))
            context["direction"] = way
        except MicsError as error:
            context["error"] = error
            status = error.status
    return render(templates, request, visitor, "trace.html", context, status)


def _drawn(db: Database, answer: dict[str, Any], lang: str) -> dict[str, Any]:
    labels = Labels(db)
    pins, route = _pins(answer["timeline"], places_by_gln(db))
    timeline = [
        {
            "when": when(row["eventTime"]),
            "what": f"{str(row['type']).removesuffix('Event')} {row['action'] or ''}".strip(),
            "step": row["bizStep"] or "",
            "where": labels.place(row["bizLocation"] or row["readPoint"]),
            "event_id": row["eventID"],
        }
        for row in answer["timeline"]
    ]
    return {
        "answer": answer,
        "root_label": labels.thing(answer["root"]),
        "graph": graph_svg(answer, labels, translate(lang, "what was made of what")),
        "timeline": timeline,
        "map": map_svg(pins, route, translate(lang, "map of the places on the way")),
        "pins": pins,
    }


def _known_lots(db: Database) -> list[str]:
    """Lots of registered items, as Digital Links (examples to trace)."""
    items = registry.list_items(db, limit=500).items
    return sorted({f"https://id.gs1.org/01/{i.gtin}/10/{i.lot}" for i in items if i.lot})


def lot_identifier(text: str) -> str:
    """A lot as its canonical Digital Link, from an LGTIN URN, a Digital Link or GTIN/lot."""
    text = text.strip()
    gtin_lot = re.fullmatch(r"(\d{8,14})/(\S+)", text)
    uri = (
        f"https://id.gs1.org/01/{gtin_lot.group(1).zfill(14)}/10/{gtin_lot.group(2)}"
        if gtin_lot
        else canonical(text)
    )
    if "/10/" not in uri:
        raise InvalidInput(
            "not a lot",
            field="lot",
            value=text,
            expected="an LGTIN (urn:epc:class:lgtin:...), a Digital Link with /10/, or GTIN/lot",
        )
    return uri


def recalled_items(db: Database, lot: str, viewer: Viewer) -> list[dict[str, str]]:
    """Every serialised item downstream of ``lot`` (the recall question), with its product."""
    answer = genealogy.trace(db, lot_identifier(lot), "downstream", viewer)
    products = {p.gtin: p.name for p in registry.list_products(db, limit=500).items}
    rows = []
    for node in answer.nodes.values():
        found = _ITEM.match(node["id"])
        if found is None:
            continue
        gtin, serial = found.groups()
        try:
            item_lot = registry.find_item(db, gtin, serial).lot or ""
        except (NotFound, InvalidInput):
            item_lot = ""
        rows.append(
            {
                "serial": serial,
                "gtin": gtin,
                "product": products.get(gtin, ""),
                "item_lot": item_lot,
                "digital_link": node["id"],
            }
        )
    return sorted(rows, key=lambda r: (r["gtin"], r["serial"]))


@router.get("/trace/recall", response_class=HTMLResponse)
def recall_page(request: Request, db: DatabaseDep, visitor: VisitorDep, lot: str = "") -> Response:
    viewer = viewer_or_refusal(request, db, visitor, "Recall")
    if isinstance(viewer, HTMLResponse):
        return viewer
    context: dict[str, Any] = {"lot": lot, "items": None, "error": None, "lots": _known_lots(db)}
    status = 200
    if lot.strip():
        try:
            context["items"] = recalled_items(db, lot, viewer)
        except MicsError as error:
            context["error"], status = error, error.status
    return render(templates, request, visitor, "recall.html", context, status)


@router.get("/trace/recall.csv")
def recall_csv(request: Request, db: DatabaseDep, visitor: VisitorDep, lot: str = "") -> Response:
    viewer = viewer_or_refusal(request, db, visitor, "Recall")
    if isinstance(viewer, HTMLResponse):
        return viewer
    rows = recalled_items(db, lot, viewer)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECALL_COLUMNS, lineterminator="\r\n")  # RFC 4180
    writer.writeheader()
    for row in rows:
        writer.writerow({k: inert_cell(v) for k, v in row.items()})
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", lot_identifier(lot).rsplit("/", 1)[-1])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="recall-{name}.csv"'},
    )
