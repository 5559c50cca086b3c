"""``/epcis/queries``: the GS1 EPCIS 2.0 REST binding's named queries and subscriptions.

Paths follow the binding's OpenAPI (``REST Bindings/openapi.json``, tag ``Queries``): a
named query is a SimpleEventQuery's parameters (EPCIS 2.0 §8.2.7) under a name;
``/queries/{name}/events`` runs it over the events the caller may see, and its
subscriptions (``stream: true``) have ``mics serve`` deliver each new matching event to a
webhook, signed (``mics.trace.subscriptions``). Names are per partner: every key, an
operator's too, manages its own partner's queries.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from mics.api.deps import DatabaseDep, EventReaderDep, ViewerDep
from mics.api.epcis_answers import EVENTS, query_params, results
from mics.errors import InvalidInput
from mics.trace import json_text, query, subscriptions

router = APIRouter(prefix="/epcis", tags=["epcis"])
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
    params: dict[str, Any] = dict(row.params) | query_params(request)
    return results(request, query.run(db, params, viewer), params, name)


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


@router.get("/queries/{name}/subscriptions/{subscription}")
def subscription_details(
    name: str, subscription: str, db: DatabaseDep, who: EventReaderDep
) -> dict[str, Any]:
    """One subscription of the caller's query ``name``: whether it is still active."""
    return subscriptions.subscription(db, name, subscription, who.partner)


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
