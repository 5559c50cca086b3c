"""Synchronous capture of one EPCIS event: the REST binding's ``POST /events``.

The binding's OpenAPI: "An individual EPCIS event can be created by making a ``POST``
request on the ``/events`` resource" (201 with the event's URL in ``Location``; 400 when
the event is rejected, 409 when it already exists). The event goes the way of any capture
(``mics.trace.capture.capture_stream``): wrapped in an EPCISDocument whose ``@context`` is
the event's own, validated, hashed (CBV 2.0 §8.9), stored and logged in one transaction,
with a capture job like any other. Problems point into the event (``/epcList/0``), not
into the document it was wrapped in.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from mics.db import Database
from mics.errors import Conflict, InvalidInput
from mics.trace import capture
from mics.trace.event_hash import event_hash
from mics.trace.field_checks import Problem
from mics.trace.query import EPCIS_CONTEXT
from mics.trace.validate import DOCUMENT_EVENTS, DocumentInvalid

__all__ = ["CapturedEvent", "capture_event"]

_IN_DOCUMENT = f"{DOCUMENT_EVENTS}/0"
_DOCUMENTS = ("EPCISDocument", "EPCISQueryDocument")


@dataclass(frozen=True)
class CapturedEvent:
    """The stored event's id and its capture job (with any warnings)."""

    event_id: str
    capture_id: str


def capture_event(
    db: Database,
    event: object,
    partner: str,
    *,
    role: str | None = None,
    now: datetime | None = None,
) -> CapturedEvent:
    """Capture the one ``event`` (a JSON-LD object) as ``partner``; ``Conflict`` when it is
    stored already, ``DocumentInvalid`` (pointers into the event) when it breaks a rule."""
    if not isinstance(event, dict):
        raise InvalidInput(
            "the body must be one EPCIS event, a JSON object",
            field="body",
            value=type(event).__name__,
            expected="a JSON object such as {'type': 'ObjectEvent', ...}",
        )
    if event.get("type") in _DOCUMENTS:
        raise InvalidInput(
            "POST /events takes one event, not a document",
            field="type",
            value=event.get("type"),
            expected="an event type (ObjectEvent, ...); send documents to /epcis/capture",
        )
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    context = event.get("@context") or [EPCIS_CONTEXT]
    body = {k: v for k, v in event.items() if k != "@context"}
    document = {
        "@context": context,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": moment.isoformat().replace("+00:00", "Z"),
        "epcisBody": {"eventList": [body]},
    }
    text = json.dumps(document, ensure_ascii=False).encode()
    try:
        result = capture.capture_stream(db, io.BytesIO(text), "json", partner, role=role, now=now)
    except DocumentInvalid as invalid:
        raise DocumentInvalid([_in_event(p) for p in invalid.problems]) from None
    if result.duplicates:
        event_id = body.get("eventID") or event_hash(body, context)
        raise Conflict(
            "this event is already in the repository (same eventID, same content)",
            field="eventID",
            value=event_id,
            location=f"/epcis/events/{event_id}",
        )
    return CapturedEvent(result.event_ids[0], result.capture_id)


def _in_event(problem: Problem) -> Problem:
    """``problem`` with its pointer into the event rather than into the wrapping document."""
    pointer = problem.pointer
    if pointer.startswith(_IN_DOCUMENT):
        pointer = pointer[len(_IN_DOCUMENT) :] or "/"
    return Problem(None, pointer, problem.value, problem.expected)
