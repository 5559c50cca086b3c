"""``/events``: the EPCIS 2.0 events a visitor may see, filtered, paged, readable; uploads.

Filters are the SimpleEventQuery parameters of EPCIS 2.0 §8.2.7.1 (``eventType``,
``GE_eventTime``/``LT_eventTime``, ``EQ_bizStep``, ``EQ_disposition``, ``EQ_readPoint``,
``EQ_bizLocation``, ``MATCH_anyEPC``/``MATCH_anyEPCClass``), run by ``mics.trace.query``
with its keyset pagination (``nextPageToken``), for the viewer ``/epcis/events`` would
use for the same key (``mics.api.deps.event_viewer``). An upload goes through the capture
service (``mics.trace.capture``) as ``POST /epcis/capture`` does, all or nothing, and
shows every problem at its event and field.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from defusedxml import minidom
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mics.api.deps import (
    CAPTURERS,
    EVENT_READERS,
    DatabaseDep,
    event_viewer,
    prebuilder,
    sees_every_capture_job,
)
from mics.cli.trace_view import Labels
from mics.errors import InvalidInput, MicsError, NotFound
from mics.trace import capture, capture_jobs, cbv, query
from mics.trace.canonical_uri import canonical
from mics.trace.validate import EVENT_TYPES, DocumentInvalid
from mics.trace.xml_binding import to_xml
from mics.web.event_cards import card
from mics.web.pages import templates
from mics.web.visitor import Visitor, VisitorDep, read_form, render

router = APIRouter(include_in_schema=False)
CONTEXT = query.EPCIS_CONTEXT
PER_PAGE = 20
# the page's filter fields and the SimpleEventQuery parameter each one becomes
FILTERS = {
    "type": "eventType",
    "from": "GE_eventTime",
    "to": "LT_eventTime",
    "step": "EQ_bizStep",
    "disposition": "EQ_disposition",
    "read_point": "EQ_readPoint",
    "location": "EQ_bizLocation",
}
_LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?")  # <input type=datetime-local>


def query_params(form: dict[str, str]) -> dict[str, str]:
    """SimpleEventQuery parameters for the page's filter fields (empty ones left out).

    A ``datetime-local`` value has no offset: the page labels it UTC and adds ``Z``.
    An EPC that names a class (an LGTIN, a lot) matches quantity lists, an instance EPC
    lists (EPCIS 2.0 §8.2.7.1 ``MATCH_anyEPCClass`` / ``MATCH_anyEPC``).
    """
    params: dict[str, str] = {}
    for name, parameter in FILTERS.items():
        value = (form.get(name) or "").strip()
        if not value:
            continue
        if name in ("from", "to") and _LOCAL_TIME.fullmatch(value):
            value = value + (":00Z" if len(value) == 16 else "Z")
        params[parameter] = value
    epc = (form.get("epc") or "").strip()
    if epc:
        uri = canonical(epc)
        is_class = "/10/" in uri or (uri.startswith("https://id.gs1.org/01/") and "/21/" not in uri)
        params["MATCH_anyEPCClass" if is_class else "MATCH_anyEPC"] = epc
    return params


def viewer_or_refusal(
    request: Request, db: DatabaseDep, visitor: Visitor, page: str
) -> query.Viewer | HTMLResponse:
    """The visitor's event viewer, or the page saying why there is none (401/403)."""
    if visitor.principal is None:
        return _refused(request, visitor, page, "Sign in to see events.", 401)
    try:
        return event_viewer(db, visitor.principal)
    except MicsError as refused:
        return _refused(request, visitor, page, refused.message, refused.status)


def _refused(
    request: Request, visitor: Visitor, page: str, reason: str, status: int
) -> HTMLResponse:
    return render(
        templates,
        request,
        visitor,
        "refused.html",
        {"reason": reason, "page": page, "next": request.url.path},
        status,
    )


@router.get("/events", response_class=HTMLResponse)
def events_page(request: Request, db: DatabaseDep, visitor: VisitorDep) -> HTMLResponse:
    viewer = viewer_or_refusal(request, db, visitor, "Events")
    if isinstance(viewer, HTMLResponse):
        return viewer
    form = {k: v for k, v in request.query_params.items() if k in FILTERS or k == "epc"}
    params = query_params(form)
    token = request.query_params.get("nextPageToken")
    error: MicsError | None = None
    page = query.Page([], None)
    try:
        asked = {"perPage": str(PER_PAGE), **params}
        page = query.run(db, {**asked, "nextPageToken": token} if token else asked, viewer)
    except InvalidInput as invalid:
        error = invalid
    labels = Labels(db)
    cards = [card(event, labels) for event in page.events]
    hashes = {}
    for event in page.events:
        row = query.get_event(db, str(event.get("eventID", "")), viewer)
        hashes[str(event.get("eventID", ""))] = row.event_hash if row else ""
    next_link = (
        "/events?" + urlencode({**form, "nextPageToken": page.next_token})
        if page.next_token
        else None
    )
    return render(
        templates,
        request,
        visitor,
        "events.html",
        {
            "form": form,
            "cards": cards,
            "hashes": hashes,
            "next_link": next_link,
            "first_link": "/events?" + urlencode(form) if token else None,
            "error": error,
            "event_types": EVENT_TYPES,
            "steps": sorted(cbv.BIZ_STEP.terms),
            "dispositions": sorted(cbv.DISPOSITION.terms),
            "places": sorted(labels.places.items(), key=lambda p: p[1]),
            "may_capture": visitor.role in CAPTURERS,
        },
        422 if error else 200,
    )


@router.get("/events/event", response_class=HTMLResponse)
def event_page(request: Request, db: DatabaseDep, visitor: VisitorDep, id: str = "") -> Response:
    viewer = viewer_or_refusal(request, db, visitor, "Event")
    if isinstance(viewer, HTMLResponse):
        return viewer
    row = query.get_event(db, id, viewer)
    if row is None:
        raise NotFound(f"no event {id!r} that you may see", field="eventID", value=id[:200])
    body = query.answer(db, row)
    shown = card(body, Labels(db))
    own = body.pop("@context", [])
    document = {
        "@context": [CONTEXT, *(own if isinstance(own, list) else [own])],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": body.get("recordTime"),
        "epcisBody": {
            "queryResults": {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": [body]}}
        },
    }
    return render(
        templates,
        request,
        visitor,
        "event.html",
        {
            "card": shown,
            "event_hash": row.event_hash,
            "xml": minidom.parseString(to_xml(document).decode("utf-8")).toprettyxml(indent="  "),
            "trace_links": sorted({t.uri for t in shown.things}),
        },
    )


@router.get("/events/upload", response_class=HTMLResponse)
def upload_page(request: Request, db: DatabaseDep, visitor: VisitorDep) -> HTMLResponse:
    return _upload(request, visitor, {}, None)


def _upload(
    request: Request,
    visitor: Visitor,
    form: dict[str, str],
    failure: DocumentInvalid | MicsError | None,
    status: int = 200,
) -> HTMLResponse:
    if visitor.principal is None:
        return _refused(request, visitor, "Upload", "Sign in to capture events.", 401)
    if visitor.role not in CAPTURERS:
        reason = f"capture needs a key with role {' or '.join(CAPTURERS)}; yours has {visitor.role}"
        return _refused(request, visitor, "Upload", reason, 403)
    by_event: dict[int | None, list[Any]] = defaultdict(list)
    if isinstance(failure, DocumentInvalid):
        for problem in failure.problems:
            by_event[problem.event_index].append(problem)
    return render(
        templates,
        request,
        visitor,
        "upload.html",
        {
            "form": form,
            "failure": failure,
            "by_event": sorted(by_event.items(), key=lambda kv: -1 if kv[0] is None else kv[0]),
        },
        status,
    )


@router.post("/events/upload", response_class=HTMLResponse)
async def upload(request: Request, db: DatabaseDep, visitor: VisitorDep) -> Response:
    form = await read_form(request, visitor)
    if visitor.principal is None or visitor.role not in CAPTURERS:
        return _upload(request, visitor, {}, None)
    text = form.get("document", "").strip()
    behaviour = form.get("behaviour", "rollback")
    try:
        if not text:
            raise InvalidInput(
                "no document to capture",
                field="document",
                value="",
                expected="an EPCIS 2.0 document in JSON-LD or XML (paste it or choose a file)",
            )
        binding = "xml" if text.startswith("<") else "json"
        behaviour = capture.check_behaviour(behaviour)
        result = await run_in_threadpool(
            capture.capture_stream,
            db,
            io.BytesIO(text.encode("utf-8")),
            binding,
            visitor.principal.partner,
            behaviour=behaviour,
            role=visitor.principal.role,
        )
    except (DocumentInvalid, InvalidInput) as failure:
        return _upload(request, visitor, {**form, "behaviour": behaviour}, failure, 422)
    builder = prebuilder(request)
    if result.captured and builder is not None:  # passports these events change
        builder.captured()
    return RedirectResponse(f"/events/captures/{result.capture_id}", status_code=303)


@router.get("/events/captures/{capture_id}", response_class=HTMLResponse)
def capture_job_page(
    request: Request, db: DatabaseDep, visitor: VisitorDep, capture_id: str
) -> HTMLResponse:
    principal = visitor.require().require(*EVENT_READERS)  # as GET /epcis/capture/{id}
    job = capture_jobs.job(db, capture_id)
    if job is None or (
        job.partner_id != principal.partner and not sees_every_capture_job(principal)
    ):
        raise NotFound(f"no capture job {capture_id!r}", field="captureID", value=capture_id)
    by_event: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for problem in job.errors or []:
        index = problem.get("eventIndex")
        by_event[index if isinstance(index, int) else None].append(problem)
    return render(
        templates,
        request,
        visitor,
        "capture_job.html",
        {
            "job": job,
            "by_event": sorted(by_event.items(), key=lambda kv: -1 if kv[0] is None else kv[0]),
            "events_link": "/events",
        },
    )
