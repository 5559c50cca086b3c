"""``/epcis`` top-level resources of the GS1 EPCIS 2.0 REST binding, and its page tokens.

The binding's OpenAPI (``REST Bindings/openapi.json``): ``GET /`` lists the top-level
resources; ``/eventTypes``, ``/epcs``, ``/bizSteps``, ``/bizLocations``, ``/readPoints`` and
``/dispositions`` list their values (a JSON-LD ``Collection``, paged by ``perPage`` and
``nextPageToken`` with ``Link: <...>; rel="next"``); ``/{resource}/{value}`` lists the
value's sub-resources (``events``), and ``/{resource}/{value}/events`` answers the events
naming it, as ``/events`` with the matching query parameter would.

Access is that of ``/events``: values and events come from what the caller may see
(``mics.trace.resources``), a value none of them names is 404. ``GET /`` and the event
types are the same for everyone (what the repository offers), as the discovery ``OPTIONS``.
``DELETE /nextPageToken/{token}`` is the binding's optional token release: tokens here
carry their position and hold nothing on the server, so it answers the binding's
``501`` (``epcisException:ImplementationException``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from mics.api.deps import DatabaseDep, ViewerDep
from mics.api.epcis_answers import EVENTS, collection, query_params, results
from mics.api.openapi import problems
from mics.api.problems import PROBLEM, problem_response
from mics.trace import query, resources
from mics.trace.validate import EVENT_TYPES

router = APIRouter(prefix="/epcis", tags=["epcis"])
TOP_LEVEL = [
    "queries", "capture", "events", "eventTypes", "epcs", "readPoints", "bizLocations",
    "dispositions", "bizSteps",
]  # fmt: skip
SUB_RESOURCES = ["events"]
# EPCs are kept and listed as GS1 Digital Link URIs (mics.trace.canonical_uri.canonical), the
# binding's default GS1-EPC-Format; an EPC URN would need the company prefix's length
FORMATS = {"epcs": {"GS1-EPC-Format": "Always_GS1_Digital_Link"}}
EVERYONE = query.Viewer(partner=None)  # event types are the same for every caller


def _collection_of(items: dict[str, Any], description: str) -> dict[int | str, Any]:
    schema = {
        "type": "object",
        "required": ["@context", "type", "member"],
        "properties": {
            "@context": {},
            "type": {"const": "Collection"},
            "member": {"type": "array", "items": items, "uniqueItems": True},
        },
    }
    return {200: {"description": description, "content": {"application/json": {"schema": schema}}}}


VALUES = _collection_of(
    {"type": "string"}, "The values the caller's events name; Link rel=next to the next page"
)
SUB = _collection_of({"enum": SUB_RESOURCES}, "The value's sub-resources (HATEOAS discovery)")
TOP = _collection_of({"enum": TOP_LEVEL}, "The repository's top-level resources")
PerPage = Annotated[int, Query(alias="perPage", ge=1, le=query.MAX_PER_PAGE)]
PageToken = Annotated[str | None, Query(alias="nextPageToken", max_length=1000)]


class ProblemResponse(JSONResponse):
    """An RFC 9457 problem as a route's own answer (declared so in the OpenAPI)."""

    media_type = PROBLEM


@router.get("", responses=TOP)
@router.get("/", responses=TOP)
def top_level(request: Request) -> JSONResponse:
    """The top-level resources this repository serves (the binding's ``GET /``)."""
    return collection(request, TOP_LEVEL)


@router.get("/eventTypes", responses=VALUES)
def event_types(
    request: Request,
    db: DatabaseDep,
    per_page: PerPage = query.DEFAULT_PER_PAGE,
    next_page_token: PageToken = None,
) -> JSONResponse:
    """The five EPCIS 2.0 event types (§7.4), the same for every caller."""
    page = resources.values(db, "eventTypes", EVERYONE, per_page=per_page, token=next_page_token)
    return collection(request, page.values, page.next_token, per_page)


@router.get("/eventTypes/{value}", responses=SUB)
def event_type(value: str, request: Request, db: DatabaseDep) -> JSONResponse:
    """An event type's sub-resources; 404 for a type EPCIS 2.0 does not define."""
    resources.check_value(db, "eventTypes", value, EVERYONE)
    return collection(request, SUB_RESOURCES)


EventTypeValue = Annotated[str, Path(json_schema_extra={"enum": list(EVENT_TYPES)})]


@router.get("/eventTypes/{value}/events", responses=EVENTS)
def events_of_type(
    value: EventTypeValue, request: Request, db: DatabaseDep, viewer: ViewerDep
) -> Response:
    """The events of one type (the binding's ``/eventTypes/{eventType}/events``)."""
    params = query_params(request) | {"eventType": value}
    return results(request, query.run(db, params, viewer), params)


def _events(resource: str) -> Any:
    name = resources.FILTERS[resource]

    def events_naming(value: str, request: Request, db: DatabaseDep, viewer: ViewerDep) -> Response:
        params = query_params(request) | {name: value}
        return results(request, query.run(db, params, viewer), params)

    events_naming.__doc__ = f"The events the caller may see with ``{name}`` = the value."
    return events_naming


def _values(resource: str) -> Any:
    def listed(
        request: Request,
        db: DatabaseDep,
        viewer: ViewerDep,
        per_page: PerPage = query.DEFAULT_PER_PAGE,
        next_page_token: PageToken = None,
    ) -> JSONResponse:
        page = resources.values(db, resource, viewer, per_page=per_page, token=next_page_token)
        return collection(request, page.values, page.next_token, per_page, FORMATS.get(resource))

    listed.__doc__ = f"The {resource} named by the events the caller may see, a page of them."
    return listed


def _value(resource: str) -> Any:
    def one(value: str, request: Request, db: DatabaseDep, viewer: ViewerDep) -> JSONResponse:
        resources.check_value(db, resource, value, viewer)
        return collection(request, SUB_RESOURCES)

    one.__doc__ = f"One of the {resource}: its sub-resources; 404 if no event you see names it."
    return one


# /{value}/events before /{value}: a path parameter takes the slashes of a URI
for resource, converter in (
    ("epcs", ":path"),
    ("bizSteps", ""),
    ("bizLocations", ":path"),
    ("readPoints", ":path"),
    ("dispositions", ""),
):
    router.add_api_route(
        f"/{resource}/{{value{converter}}}/events",
        _events(resource),
        methods=["GET"],
        responses=EVENTS,
        name=f"{resource}_events",
    )
    router.add_api_route(
        f"/{resource}/{{value{converter}}}",
        _value(resource),
        methods=["GET"],
        responses=SUB,
        name=f"{resource}_value",
    )
    router.add_api_route(
        f"/{resource}", _values(resource), methods=["GET"], responses=VALUES, name=resource
    )


@router.delete(
    "/nextPageToken/{token}",
    status_code=501,
    response_class=ProblemResponse,
    responses=problems(501),
)
def release_page_token(token: str, request: Request) -> Response:
    """The binding's optional token release, not implemented: tokens hold nothing here."""
    return problem_response(
        {
            "type": "epcisException:ImplementationException",
            "title": "Functionality not supported by server",
            "status": 501,
            "detail": "page tokens carry their position and hold nothing on this server: "
            "there is nothing to release, and a token stays usable",
            "instance": request.url.path,
        }
    )
