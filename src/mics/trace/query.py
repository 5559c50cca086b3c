"""EPCIS 2.0 queries (§8.2.7 SimpleEventQuery parameters) with stable pagination.

Results are ordered by ``orderBy`` (``eventTime`` or ``recordTime``; capture
order when absent) and then by capture order, and pages continue *after* the
last row seen (keyset pagination): events that arrive while a client pages are
neither skipped nor repeated. The ``nextPageToken`` carries the query and the
position, base64url-encoded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from mics.column_ranges import INT64_MAX
from mics.db import Database
from mics.errors import InvalidInput
from mics.trace import json_text
from mics.trace.canonical_uri import canonical
from mics.trace.cbv import bare_term
from mics.trace.row_copies import frozen_copy
from mics.trace.store import CaptureJobRow, EventBizTransactionRow, EventEpcRow, EventRow
from mics.trace.validate import EVENT_TYPES, parse_timestamp
from mics.trace.viewer import Viewer as Viewer  # the faces name it query.Viewer
from mics.trace.viewer import visible, visible_parts

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 30
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"  # in every answer
ORDER_FIELDS = {"eventTime": EventRow.event_time, "recordTime": EventRow.record_time}
ORDER_ATTRIBUTES = {"eventTime": "event_time", "recordTime": "record_time"}
MATCHES = {
    "MATCH_epc": ("epc", "parent"),
    "MATCH_parentID": ("parent",),
    "MATCH_inputEPC": ("input",),
    "MATCH_outputEPC": ("output",),
    "MATCH_anyEPC": ("epc", "parent", "input", "output"),
    "MATCH_epcClass": ("quantity",),
    "MATCH_inputEPCClass": ("input_quantity",),
    "MATCH_outputEPCClass": ("output_quantity",),
    "MATCH_anyEPCClass": ("quantity", "input_quantity", "output_quantity"),
}
EQUALS = {
    "EQ_action": EventRow.action,
    "EQ_bizStep": EventRow.biz_step,
    "EQ_disposition": EventRow.disposition,
    "EQ_readPoint": EventRow.read_point,
    "EQ_bizLocation": EventRow.biz_location,
    "EQ_eventID": EventRow.event_id,
}
TIMES = {
    "GE_eventTime": (EventRow.event_time, ">="),
    "LT_eventTime": (EventRow.event_time, "<"),
    "GE_recordTime": (EventRow.record_time, ">="),
    "LT_recordTime": (EventRow.record_time, "<"),
}
PAGING = {"perPage", "nextPageToken", "orderBy", "orderDirection", "eventType", "eventCountLimit"}


@dataclass(frozen=True)
class Page:
    events: list[dict[str, Any]]
    next_token: str | None


def _list(name: str, value: str | list[str]) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(part, str) for part in values):  # a stored named query's JSON
        raise InvalidInput(
            "query values are text",
            field=name,
            value=value,
            expected="a string, or a list of strings (values separated by |)",
        )
    return [v.strip() for part in values for v in part.split("|") if v.strip()]


def build(params: Mapping[str, str | list[str]]) -> Select[Any]:
    """The SQL for the filters in ``params``; unknown parameters are an error."""
    query = select(EventRow)
    for name, raw in params.items():
        values = _list(name, raw)
        if name in PAGING:
            continue
        if name in EQUALS:
            equal_column = EQUALS[name]
            if name in ("EQ_bizStep", "EQ_disposition"):
                values = [bare_term(v) for v in values]
            query = query.where(equal_column.in_(values))
        elif name in TIMES:
            column, op = TIMES[name]
            moment = _time(name, raw if isinstance(raw, str) else raw[-1])
            query = query.where(column >= moment if op == ">=" else column < moment)
        elif name in MATCHES:
            roles = MATCHES[name]
            epcs = [canonical(v) for v in values]
            # IN, not a correlated EXISTS: the planner then starts from the (epc, role,
            # event) index; with EXISTS SQLite scanned every event in id order, testing
            # each (2.2 s for one item's first page at 100,000 events, 0.3 ms so)
            query = query.where(
                EventRow.id.in_(
                    select(EventEpcRow.event).where(
                        EventEpcRow.role.in_(roles), EventEpcRow.epc.in_(epcs)
                    )
                )
            )
        elif name.startswith("EQ_bizTransaction_"):
            kind = name.removeprefix("EQ_bizTransaction_")
            query = query.where(
                EventRow.id.in_(
                    select(EventBizTransactionRow.event).where(
                        EventBizTransactionRow.type.in_(
                            [
                                kind,
                                f"https://ref.gs1.org/cbv/BTT-{kind}",
                                f"urn:epcglobal:cbv:btt:{kind}",
                            ]
                        ),
                        EventBizTransactionRow.value.in_(values),
                    )
                )
            )
        else:
            raise InvalidInput(
                f"unknown query parameter {name!r}",
                field=name,
                value=raw,
                expected="an EPCIS 2.0 query parameter such as eventType, GE_eventTime, "
                "EQ_bizStep, MATCH_epc, MATCH_anyEPC, EQ_bizTransaction_po, perPage",
            )
    if "eventType" in params:
        types = _list("eventType", params["eventType"])
        for t in types:
            if t not in EVENT_TYPES:
                raise InvalidInput(
                    "unknown event type",
                    field="eventType",
                    value=t,
                    expected="one of " + ", ".join(EVENT_TYPES),
                )
        query = query.where(EventRow.event_type.in_(types))
    return query


def _time(name: str, text: str) -> datetime:
    try:
        return parse_timestamp(text).astimezone(UTC)
    except InvalidInput as error:
        raise InvalidInput(error.reason, field=name, value=text, expected=error.expected) from error


def run(db: Database, params: Mapping[str, str | list[str]], viewer: Viewer) -> Page:
    """One page of events matching ``params`` that ``viewer`` may see."""
    params = dict(params)
    position: list[Any] | None = None
    if "nextPageToken" in params:
        raw_token = params.pop("nextPageToken")
        saved, position = _decode(raw_token if isinstance(raw_token, str) else raw_token[-1])
        params = saved
    per_page = _per_page(params)
    order_name = _one(params, "orderBy")
    if order_name is not None and order_name not in ORDER_FIELDS:
        raise InvalidInput(
            "unsupported orderBy",
            field="orderBy",
            value=order_name,
            expected="eventTime or recordTime",
        )
    direction = (_one(params, "orderDirection") or "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise InvalidInput(
            "unknown orderDirection",
            field="orderDirection",
            value=direction,
            expected="ASC or DESC",
        )
    query = build(params)
    if position is not None:
        query = query.where(_after(_keys(order_name), position, direction))
    with db.read() as s:
        rows = ordered_rows(s, query, viewer, order_name, direction, per_page + 1)
        more = len(rows) > per_page
        rows = rows[:per_page]
        contexts = _contexts(s, rows)
    token = None
    if more:
        last = rows[-1]
        key_values: list[Any] = [last.id]
        if order_name:
            moment = getattr(last, ORDER_ATTRIBUTES[order_name])
            key_values = [moment.isoformat(), last.id]
        token = _encode(params, key_values)
    return Page([as_event(r, contexts.get(r.capture_id)) for r in rows], token)


def ordered_rows(
    s: Session,
    query: Select[Any],
    viewer: Viewer,
    order_name: str | None,
    direction: str,
    limit: int,
) -> list[EventRow]:
    """The first ``limit`` rows of ``query`` that ``viewer`` sees, in ``order_name``
    (``eventTime``, ``recordTime``; capture order when None) then capture order.

    Each of ``visible_parts`` gives its own first ``limit`` rows through its own index;
    the first ``limit`` of their union are the answer (a row of it is among the first of
    its own part), ordered here by the same keys, which are times and ids: no collation.
    """
    keys = _keys(order_name)
    order = [k.desc() if direction == "DESC" else k.asc() for k in keys]
    found: dict[int, EventRow] = {}
    for part in visible_parts(s, query, viewer):
        for row in s.scalars(part.order_by(*order).limit(limit)):
            found[row.id] = row
    moment = ORDER_ATTRIBUTES.get(order_name or "")

    def position(row: EventRow) -> tuple[Any, ...]:
        return (getattr(row, moment), row.id) if moment else (row.id,)

    return sorted(found.values(), key=position, reverse=direction == "DESC")[:limit]


def _keys(order_name: str | None) -> list[Any]:
    return [ORDER_FIELDS[order_name], EventRow.id] if order_name else [EventRow.id]


def _after(keys: list[Any], position: list[Any], direction: str) -> Any:
    if len(keys) == 2:
        values = [parse_timestamp(position[0]).astimezone(UTC), position[1]]
    else:
        values = position
    if direction == "DESC":
        if len(keys) == 1:
            return keys[0] < values[0]
        return or_(keys[0] < values[0], and_(keys[0] == values[0], keys[1] < values[1]))
    if len(keys) == 1:
        return keys[0] > values[0]
    return or_(keys[0] > values[0], and_(keys[0] == values[0], keys[1] > values[1]))


def _one(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if isinstance(value, list):
        value = value[-1] if value else None
    return value


def _per_page(params: Mapping[str, Any]) -> int:
    raw = _one(params, "perPage") or _one(params, "eventCountLimit")
    if raw is None:
        return DEFAULT_PER_PAGE
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PER_PAGE:
        raise InvalidInput(
            "perPage out of range",
            field="perPage",
            value=raw,
            expected=f"an integer in 1..{MAX_PER_PAGE}",
        )
    return value


def _encode(params: Mapping[str, Any], position: list[Any]) -> str:
    raw = json.dumps({"q": dict(params), "after": position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[dict[str, Any], list[Any]]:
    try:
        data = json_text.load(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        params, after = dict(data["q"]), list(data["after"])
        if not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in params.values()
        ):
            raise TypeError("query values must be strings")
        ordered = "orderBy" in params
        if len(after) != (2 if ordered else 1) or not isinstance(after[-1], int):
            raise TypeError("position does not fit the query")
        if not 0 <= after[-1] <= INT64_MAX:  # an event id: PostgreSQL refuses a larger one
            raise ValueError("position beyond any event id")
        if ordered:
            parse_timestamp(str(after[0]))
        return params, after
    except (ValueError, KeyError, TypeError, InvalidInput) as error:
        raise InvalidInput(
            "the nextPageToken is not one this repository issued",
            field="nextPageToken",
            value=token[:40],
            expected="the token from a previous page's Link header",
        ) from error


def as_event(row: EventRow | StoredEvent, context: Any = None) -> dict[str, Any]:
    """The stored event as EPCIS 2.0 JSON-LD, with its recordTime.

    ``context`` is the ``@context`` of the document the event came in
    (``capture_job.context``): what it adds to the EPCIS context (the prefixes of
    ``example:myField``) goes with the event as its own ``@context``, so that a reader
    of the answer, in JSON-LD or XML, reads the event's names as its capturer meant.
    """
    event: dict[str, Any] = json.loads(row.body)
    moment = row.record_time
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    event["recordTime"] = stamp
    added = [c for c in (context if isinstance(context, list) else [context]) if _adds(c)]
    if added:
        own = event.pop("@context", [])
        event = {"@context": added + (own if isinstance(own, list) else [own]), **event}
    return event


def _adds(entry: Any) -> bool:
    """Whether a document's @context entry adds to what answers declare anyway."""
    return entry not in (None, EPCIS_CONTEXT) and not (isinstance(entry, dict) and not entry)


def answer(db: Database, row: StoredEvent) -> dict[str, Any]:
    """``as_event`` of one row, with the context of its capture."""
    with db.read() as s:
        return as_event(row, _contexts(s, [row]).get(row.capture_id))


def _contexts(s: Session, rows: Sequence[EventRow | StoredEvent]) -> dict[str, Any]:
    """Capture id -> the @context of its document, for the captures of ``rows``."""
    ids = {row.capture_id for row in rows}
    if not ids:
        return {}
    found = s.execute(
        select(CaptureJobRow.id, CaptureJobRow.context).where(CaptureJobRow.id.in_(ids))
    )
    return {str(job): context for job, context in found}


@dataclass(frozen=True)
class StoredEvent:
    """One stored event as the other areas and the faces see it (the table row stays in
    ``trace``): ``answer`` renders it, ``proofs.event_proof`` proves it."""

    id: int  # the log's leaf key
    event_id: str
    event_hash: str
    event_type: str
    event_time: datetime
    record_time: datetime
    partner_id: str
    capture_id: str
    body: str  # the event as captured (JSON text)

    @classmethod
    def of(cls, row: EventRow) -> StoredEvent:
        return frozen_copy(cls, row)


def get_event(db: Database, event_id: str, viewer: Viewer) -> StoredEvent | None:
    """The event ``event_id`` if ``viewer`` may see it, else None."""
    with db.read() as s:
        query = visible(select(EventRow).where(EventRow.event_id == event_id), viewer)
        found: EventRow | None = s.scalar(query)
        return None if found is None else StoredEvent.of(found)
