"""``/epcis``: the GS1 EPCIS 2.0 REST binding (capture, events, queries, discovery).

Paths follow the binding's OpenAPI (``REST Bindings/openapi.yaml``) under the
``/epcis`` prefix. Capture answers ``202`` with ``Location:
/epcis/capture/{captureID}``; the job resource tells status and errors. Query
results are EPCISQueryDocuments in JSON-LD, or EPCIS 2.0 XML when asked for
with ``Accept: application/xml``; pages link on with ``Link: <...>; rel="next"``.

Roles (``api.deps``): capture with a ``partner``, ``operator`` or ``authority`` key
(an authority records recalls and inspections); read events, named queries and
subscriptions with the same roles - a partner its own events and those naming
it, operator and authority keys every event (market surveillance).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from mics.api.deps import (
    CapturerDep,
    DatabaseDep,
    EventReaderDep,
    ViewerDep,
    sees_every_capture_job,
)
from mics.api.openapi import media, problems
from mics.api.problems import problem_response
from mics.errors import InvalidInput, NotFound, TooLarge
from mics.trace import capture, capture_jobs, documents, json_text, query, subscriptions
from mics.trace.store import CaptureJobRow
from mics.trace.validate import EVENT_TYPES, DocumentInvalid

router = APIRouter(prefix="/epcis", tags=["epcis"])
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LD_JSON = "application/ld+json"
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
EVENTS = media(LD_JSON, "application/xml", description="An EPCISQueryDocument")
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
QUERY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["name", "query"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,120}$"},
                        "query": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            }
        },
    }
}
SUBSCRIPTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["dest", "stream"],
                    "properties": {
                        "dest": {"type": "string", "pattern": "^https?://[^\\s/]+"},
                        "signatureToken": {"type": "string"},
                        "stream": {"const": True},
                    },
                }
            }
        },
    }
}
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
def discovery() -> Response:
    """EPCIS discovery: versions, vocabularies and limits in the response headers."""
    return Response(status_code=204, headers=DISCOVERY | {"Allow": "OPTIONS", "GS1-Extensions": ""})


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
    location = f"/epcis/capture/{result.capture_id}"
    return JSONResponse(
        {
            "captureID": result.capture_id,
            "captured": result.captured,
            "duplicates": result.duplicates,
            "errors": [p.as_dict() for p in result.problems],
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
    job = capture.job(db, capture_id)
    if job is None or (job.partner_id != who.partner and not sees_every_capture_job(who)):
        raise NotFound(f"no capture job {capture_id!r}", field="captureID", value=capture_id)
    return _job(job)


def _job(job: CaptureJobRow) -> dict[str, Any]:
    return {
        "captureID": job.id,
        "createdAt": _stamp(job.created_at),
        "finishedAt": _stamp(job.finished_at) if job.finished_at else None,
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "captured": job.captured,
        "duplicates": job.duplicates,
        "errors": job.errors,
    }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _results(
    request: Request, page: query.Page, params: dict[str, Any], name: str | None = None
) -> Response:
    headers = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
    if page.next_token:
        link = f"{request.url.path}?{urlencode({'nextPageToken': page.next_token})}"
        headers["Link"] = f'<{link}>; rel="next"'
        headers["GS1-Next-Page-Token-Expires"] = "never"
    document: dict[str, Any] = {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": _stamp(datetime.now(UTC)),
        "epcisBody": {
            "queryResults": {
                "queryName": name or "SimpleEventQuery",
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    if page.next_token:
        document["nextPageToken"] = page.next_token
    if _wants_xml(request):
        from mics.trace.xml_binding import to_xml

        return Response(to_xml(document), media_type="application/xml", headers=headers)
    return JSONResponse(document, media_type="application/ld+json", headers=headers)


def _wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "xml" in accept and "json" not in accept


def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in params.items()}


@router.get("/events", responses=EVENTS)
def events(request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
    """SimpleEventQuery over every event the caller may see."""
    params = _params(request)
    return _results(request, query.run(db, params, viewer), params)


@router.get("/events/{event_id:path}", responses=media(LD_JSON, "application/xml"))
def event(event_id: str, request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
    if request.url.query:
        event_id = f"{event_id}?{request.url.query}"  # ni:///...?ver=CBV2.0 ids carry a query
    row = query.get_event(db, event_id, viewer)
    if row is None:
        raise NotFound(f"no event {event_id!r} that you may see", field="eventID", value=event_id)
    body = query.answer(db, row)
    if _wants_xml(request):
        return _results(request, query.Page([body], None), {})
    own = body.pop("@context", [])  # what its capture declared (query.as_event)
    return JSONResponse({"@context": [CONTEXT, *own], **body}, media_type="application/ld+json")


@router.get("/eventTypes")
def event_types() -> dict[str, Any]:
    return {"@context": [CONTEXT], "type": "Collection", "member": list(EVENT_TYPES)}


def _scoped(filter_name: str) -> Any:
    def handler(value: str, request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
        params = _params(request) | {filter_name: value}
        return _results(request, query.run(db, params, viewer), params)

    return handler


EventTypeValue = Annotated[str, Path(json_schema_extra={"enum": list(EVENT_TYPES)})]


@router.get("/eventTypes/{value}/events", responses=EVENTS)
def events_of_type(
    value: EventTypeValue, request: Request, db: DatabaseDep, viewer: ViewerDep
) -> Response:
    """The events of one type (the binding's ``/eventTypes/{eventType}/events``)."""
    params = _params(request) | {"eventType": value}
    return _results(request, query.run(db, params, viewer), params)


for path, name in (
    ("/epcs/{value:path}/events", "MATCH_anyEPC"),
    ("/bizSteps/{value}/events", "EQ_bizStep"),
    ("/bizLocations/{value:path}/events", "EQ_bizLocation"),
    ("/readPoints/{value:path}/events", "EQ_readPoint"),
    ("/dispositions/{value}/events", "EQ_disposition"),
):
    router.add_api_route(path, _scoped(name), methods=["GET"], responses=EVENTS)


def event_path(event_id: str) -> str:
    return "/epcis/events/" + quote(event_id, safe="")


# --- named queries and subscriptions (REST binding /queries) -----------------------------
# Names are per partner: every key, an operator's too, manages its own partner's queries.


@router.get("/queries")
def queries(db: DatabaseDep, who: EventReaderDep) -> list[dict[str, Any]]:
    return subscriptions.list_queries(db, who.partner)


@router.post("/queries", status_code=201, openapi_extra=QUERY_BODY)
async def create_query(request: Request, db: DatabaseDep, who: EventReaderDep) -> Response:
    body = await _json_body(request)
    # on a thread: a write on the event loop would wait there for a scan group's lock
    created = await run_in_threadpool(
        subscriptions.create_query, db, str(body.get("name") or ""), body.get("query"), who.partner
    )
    return JSONResponse(
        created, status_code=201, headers={"Location": f"/epcis/queries/{created['name']}"}
    )


@router.get("/queries/{name}")
def named_query(name: str, db: DatabaseDep, who: EventReaderDep) -> dict[str, Any]:
    row = subscriptions.get_query(db, name, who.partner)
    return {"name": row.name, "query": row.params}


@router.delete("/queries/{name}", status_code=204)
def delete_query(name: str, db: DatabaseDep, who: EventReaderDep) -> Response:
    subscriptions.delete_query(db, name, who.partner)
    return Response(status_code=204)


@router.get("/queries/{name}/events", responses=EVENTS)
def named_query_events(
    name: str, request: Request, db: DatabaseDep, who: EventReaderDep, viewer: ViewerDep
) -> Response:
    row = subscriptions.get_query(db, name, who.partner)
    params: dict[str, Any] = dict(row.params) | _params(request)
    return _results(request, query.run(db, params, viewer), params, name)


@router.post("/queries/{name}/subscriptions", status_code=201, openapi_extra=SUBSCRIPTION_BODY)
async def subscribe(name: str, request: Request, db: DatabaseDep, who: EventReaderDep) -> Response:
    body = await _json_body(request)
    seal = request.app.state.webhook_tokens
    created = await run_in_threadpool(subscriptions.subscribe, db, name, body, who.partner, seal)
    location = f"/epcis/queries/{name}/subscriptions/{created['subscriptionID']}"
    return JSONResponse(created, status_code=201, headers={"Location": location})


@router.get("/queries/{name}/subscriptions")
def list_subscriptions(name: str, db: DatabaseDep, who: EventReaderDep) -> list[dict[str, Any]]:
    return subscriptions.list_subscriptions(db, name, who.partner)


@router.delete("/queries/{name}/subscriptions/{subscription}", status_code=204)
def unsubscribe(name: str, subscription: str, db: DatabaseDep, who: EventReaderDep) -> Response:
    subscriptions.unsubscribe(db, name, subscription, who.partner)
    return Response(status_code=204)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    # checked as a capture is (mics.trace.json_text): nesting, repeated keys, UTF-8
    body = json_text.load(raw)
    if not isinstance(body, dict):
        raise InvalidInput(
            "the body must be a JSON object",
            field="body",
            value=type(body).__name__,
            expected="a JSON object",
        )
    return body
