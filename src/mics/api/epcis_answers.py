"""How the ``/epcis`` routes answer: EPCISQueryDocuments, collections, pages and links.

Query results are EPCISQueryDocuments (EPCIS 2.0 §8.2.7) in JSON-LD, or EPCIS 2.0 XML
(§11) when asked for with ``Accept: application/xml``; the top-level resources answer a
JSON-LD ``Collection`` of ``member`` values (the REST binding's ``UriCollection``,
``EventTypeCollection``, ...). A page that has a next one links to it with ``Link: <...>;
rel="next"`` and says its token never expires (``GS1-Next-Page-Token-Expires``): the
tokens carry their position, nothing is kept for them on the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from mics.api.openapi import media
from mics.trace import query

__all__ = [
    "CONTEXT",
    "EVENTS",
    "LD_JSON",
    "collection",
    "query_params",
    "results",
    "stamp",
    "wants_xml",
]

CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
LD_JSON = "application/ld+json"
EVENTS = media(LD_JSON, "application/xml", description="An EPCISQueryDocument")
VERSIONS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wants_xml(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "xml" in accept and "json" not in accept


def query_params(request: Request) -> dict[str, Any]:
    """The request's query parameters; one given several times is a list of its values."""
    params: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in params.items()}


def next_link(request: Request, token: str | None, params: Mapping[str, Any]) -> dict[str, str]:
    """The ``Link`` and token-expiry headers of a page followed by the one ``token`` names."""
    if not token:
        return {}
    link = f"{request.url.path}?{urlencode({**params, 'nextPageToken': token})}"
    return {"Link": f'<{link}>; rel="next"', "GS1-Next-Page-Token-Expires": "never"}


def results(
    request: Request, page: query.Page, params: dict[str, Any], name: str | None = None
) -> Response:
    """``page`` as an EPCISQueryDocument, JSON-LD or XML as the request accepts."""
    headers = VERSIONS | next_link(request, page.next_token, {})
    document: dict[str, Any] = {
        "@context": [CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": stamp(datetime.now(UTC)),
        "epcisBody": {
            "queryResults": {
                "queryName": name or "SimpleEventQuery",
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    if page.next_token:
        document["nextPageToken"] = page.next_token
    if wants_xml(request):
        from mics.trace.xml_binding import to_xml

        return Response(to_xml(document), media_type="application/xml", headers=headers)
    return JSONResponse(document, media_type="application/ld+json", headers=headers)


def collection(
    request: Request,
    members: list[str],
    token: str | None = None,
    per_page: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSON-LD ``Collection`` of ``members`` (the binding's top-level lists)."""
    params = {"perPage": per_page} if per_page is not None else {}
    headers = {**VERSIONS, **(headers or {}), **next_link(request, token, params)}
    body = {"@context": CONTEXT, "type": "Collection", "member": members}
    return JSONResponse(body, headers=headers)
