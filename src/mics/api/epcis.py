"""``/epcis``: the GS1 EPCIS 2.0 REST binding (capture, events, discovery).

Paths follow the binding's OpenAPI (``REST Bindings/openapi.yaml``) under the
``/epcis`` prefix. Capture answers ``202`` with ``Location:
/epcis/capture/{captureID}``; the job resource tells status, errors and warnings.
``POST /events`` captures one event synchronously (``201``). Query results are
EPCISQueryDocuments (``mics.api.epcis_answers``). Named queries and subscriptions are
in ``mics.api.epcis_queries``, the top-level resources (``/epcs``, ``/bizSteps``, ...)
in ``mics.api.epcis_resources``.

Roles (``api.deps``): capture with a ``partner``, ``operator`` or ``authority`` key
(an authority records recalls and inspections); read events, named queries and
subscriptions with the same roles - a partner its own events and those naming
it, operator and authority keys every event (market surveillance).
"""

from __future__ import annotations

import tempfile
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from mics.api.deps import (
    CapturerDep,
    DatabaseDep,
    EventReaderDep,
    ViewerDep,
    prebuilder,
    sees_every_capture_job,
)
from mics.api.epcis_answers import CONTEXT, EVENTS, LD_JSON, query_params, results, stamp, wants_xml
from mics.api.openapi import media, problems
from mics.api.problems import allowed_methods, problem_response
from mics.errors import InvalidInput, NotFound, TooLarge
from mics.trace import (
    capture,
    capture_jobs,
    documents,
    event_capture,
    json_text,
    query,
)
from mics.trace.validate import DocumentInvalid

router = APIRouter(prefix="/epcis", tags=["epcis"])
MAX_BYTES = 512 * 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
NO_CONTENT: dict[int | str, Any] = {204: {"description": "Discovery headers, no body"}}
EPCIS_DOCUMENT = {
    "type": "object",
    "required": ["@context", "type", "schemaVersion", "creationDate", "epcisBody"],
    "properties": {
        "@context": {},
        "type": {"const": "EPCISDocument"},
        "schemaVersion": {"const": "2.0"},
        "creationDate": {"type": "string", "format": "date-time"},
        "epcisBody": {
            "type": "object",
            "required": ["eventList"],
            "properties": {"eventList": {"type": "array", "items": {"type": "object"}}},
        },
    },
}
# The binding's capture body: an EPCISDocument (the GS1 JSON Schema and the CBV decide the
# rest: see /epcis/capture's 400 problems) in JSON-LD or XML.
CAPTURE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            LD_JSON: {"schema": EPCIS_DOCUMENT},
            "application/json": {"schema": EPCIS_DOCUMENT},
            "application/xml": {"schema": {"type": "string"}},
        },
    }
}
# One event (the binding's EPCISEvent schema: GS1's JSON Schema and the CBV decide the rest,
# see the 400 problems), in JSON-LD.
_ONE_EVENT = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"type": "string", "minLength": 1}, "@context": {}},
}
EVENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {LD_JSON: {"schema": _ONE_EVENT}, "application/json": {"schema": _ONE_EVENT}},
    }
}
MAX_EVENT_BYTES = 1024 * 1024  # one event; documents go to /capture (MAX_BYTES)
DISCOVERY = {
    "GS1-EPCIS-Version": "2.0.0",
    "GS1-EPCIS-Min": "2.0.0",
    "GS1-EPCIS-Max": "2.0.0",
    "GS1-CBV-Version": "2.0.0",
    "GS1-CBV-XML-Format": "Always_Web_URI",
    "GS1-EPCIS-Capture-Limit": str(capture.CAPTURE_LIMIT),
    "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_BYTES),
    "GS1-Capture-Error-Behaviour": "rollback, proceed",
    "GS1-Vendor-Version": "MICS",
}


@router.options("", status_code=204, responses=NO_CONTENT)
@router.options("/", status_code=204, responses=NO_CONTENT)
def discovery(request: Request) -> Response:
    """EPCIS discovery: versions, vocabularies and limits in the response headers."""
    allow = ", ".join(allowed_methods(request.scope))  # GET: the top-level resources
    return Response(status_code=204, headers=DISCOVERY | {"Allow": allow, "GS1-Extensions": ""})


@router.post(
    "/capture",
    status_code=202,
    responses=problems(413, 503),
    openapi_extra=CAPTURE_BODY,
)
async def capture_document(request: Request, db: DatabaseDep, who: CapturerDep) -> Response:
    """Capture an EPCIS document (JSON-LD or XML), all or nothing unless told to proceed."""
    behaviour = capture.check_behaviour(request.headers.get("GS1-Capture-Error-Behaviour"))
    binding = documents.binding_for(request.headers.get("content-type"))
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    try:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > MAX_BYTES:
                raise TooLarge(
                    "the document is larger than this repository accepts",
                    field="body",
                    value=total,
                    expected=f"at most {MAX_BYTES} bytes",
                )
            spool.write(chunk)
        if total == 0:
            raise DocumentInvalid([_empty()])
        try:
            result = await run_in_threadpool(
                capture.capture_stream,
                db,
                spool,
                binding,
                who.partner,
                behaviour=behaviour,
                role=who.role,
            )
        except DocumentInvalid as invalid:
            body = invalid.problem()
            body.update(status=400, instance=request.url.path)
            return problem_response(body, headers=DISCOVERY)
    finally:
        spool.close()
    _captured(request, result.captured)
    location = f"/epcis/capture/{result.capture_id}"
    return JSONResponse(
        {
            "captureID": result.capture_id,
            "captured": result.captured,
            "duplicates": result.duplicates,
            "errors": [p.as_dict() for p in result.problems],
            "warnings": result.warning_list(),
        },
        status_code=202,
        headers={"Location": location} | DISCOVERY,
    )


def _empty() -> Any:
    from mics.trace.field_checks import Problem

    return Problem(None, "", "", "an EPCIS document in the request body")


JOB_LIST: dict[int | str, Any] = {
    200: {
        "description": "The caller's capture jobs, oldest first; Link rel=next to the next page",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


@router.get("/capture", responses=JOB_LIST)
def capture_jobs_list(
    request: Request,
    db: DatabaseDep,
    who: EventReaderDep,
    per_page: Annotated[
        int, Query(alias="perPage", ge=1, le=capture_jobs.MAX_PER_PAGE)
    ] = capture_jobs.DEFAULT_PER_PAGE,
    next_page_token: Annotated[str | None, Query(alias="nextPageToken", max_length=400)] = None,
) -> Response:
    """The caller's capture jobs (every job for an operator key), paged as the binding's
    ``GET /capture``: ``perPage``, ``nextPageToken`` and a ``Link: <...>; rel="next"``."""
    owner = None if sees_every_capture_job(who) else who.partner
    page = capture_jobs.jobs(db, owner, per_page=per_page, token=next_page_token)
    headers = {"GS1-EPCIS-Version": "2.0.0"}
    if page.next_token:
        link = urlencode({"perPage": per_page, "nextPageToken": page.next_token})
        headers["Link"] = f'<{request.url.path}?{link}>; rel="next"'
        headers["GS1-Next-Page-Token-Expires"] = "never"
    return JSONResponse([_job(job) for job in page.jobs], headers=headers)


@router.get("/capture/{capture_id}")
def capture_job(capture_id: str, db: DatabaseDep, who: EventReaderDep) -> dict[str, Any]:
    job = capture_jobs.job(db, capture_id)
    if job is None or (job.partner_id != who.partner and not sees_every_capture_job(who)):
        raise NotFound(f"no capture job {capture_id!r}", field="captureID", value=capture_id)
    return _job(job)


def _job(job: capture_jobs.CaptureJob) -> dict[str, Any]:
    return {
        "captureID": job.id,
        "createdAt": stamp(job.created_at),
        "finishedAt": stamp(job.finished_at) if job.finished_at else None,
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "captured": job.captured,
        "duplicates": job.duplicates,
        "errors": job.errors,
        "warnings": job.warnings or [],
    }


@router.get("/events", responses=EVENTS)
def events(request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
    """SimpleEventQuery over every event the caller may see."""
    params = query_params(request)
    return results(request, query.run(db, params, viewer), params)


@router.get("/events/{event_id:path}", responses=media(LD_JSON, "application/xml"))
def event(event_id: str, request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
    if request.url.query:
        event_id = f"{event_id}?{request.url.query}"  # ni:///...?ver=CBV2.0 ids carry a query
    row = query.get_event(db, event_id, viewer)
    if row is None:
        raise NotFound(f"no event {event_id!r} that you may see", field="eventID", value=event_id)
    body = query.answer(db, row)
    if wants_xml(request):
        return results(request, query.Page([body], None), {})
    own = body.pop("@context", [])  # what its capture declared (query.as_event)
    return JSONResponse({"@context": [CONTEXT, *own], **body}, media_type="application/ld+json")


@router.post(
    "/events",
    status_code=201,
    responses=problems(413, 503) | media(LD_JSON, status=201, description="The stored event"),
    openapi_extra=EVENT_BODY,
)
async def capture_one_event(request: Request, db: DatabaseDep, who: CapturerDep) -> Response:
    """Capture one event synchronously (the binding's ``POST /events``): ``201`` with the
    stored event and its URL in ``Location``, ``400`` naming what is wrong, ``409`` when
    the same event is stored already."""
    content_type = request.headers.get("content-type")
    if documents.binding_for(content_type) != "json":
        raise InvalidInput(
            "POST /events takes one event in JSON-LD",
            field="Content-Type",
            value=content_type,
            expected="application/ld+json or application/json; XML documents go to /capture",
        )
    body = json_text.load(await _limited_body(request))
    try:
        done = await run_in_threadpool(
            event_capture.capture_event, db, body, who.partner, role=who.role
        )
    except DocumentInvalid as invalid:
        problem = invalid.problem()
        problem.update(status=400, instance=request.url.path)
        return problem_response(problem, headers=DISCOVERY)
    _captured(request, 1)
    row = query.get_event(db, done.event_id, query.Viewer(partner=None))  # the caller's own
    assert row is not None, "the event was stored in the capture that just ended"
    stored = query.answer(db, row)
    own = stored.pop("@context", [])
    headers = DISCOVERY | {"Location": event_path(done.event_id)}
    return JSONResponse(
        {"@context": [CONTEXT, *own], **stored},
        status_code=201,
        media_type=LD_JSON,
        headers=headers,
    )


def _captured(request: Request, count: int) -> None:
    """Tell the passport prebuilder: passports naming these events' identifiers may be stale."""
    builder = prebuilder(request)
    if count and builder is not None:
        builder.captured()


async def _limited_body(request: Request) -> bytes:
    """The request body, refused past ``MAX_EVENT_BYTES`` as it streams in."""
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_EVENT_BYTES:
            raise TooLarge(
                "one event is larger than this repository accepts",
                field="body",
                value=total,
                expected=f"at most {MAX_EVENT_BYTES} bytes; send larger documents to /capture",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def event_path(event_id: str) -> str:
    return "/epcis/events/" + quote(event_id, safe="")
