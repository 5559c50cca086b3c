"""The event side of the audit: a leaf rebuilt from its stored event, and its query columns.

:func:`read_event` reads an event row as stored (:mod:`mics.ledger.store.rows`: each
value's type checked) and parses its body; :func:`rebuild` computes the leaf the
event gives now (CBV 2.0 §8.9 event hash with its capture's ``@context``, record
time, partner: ``mics-leaf/v1``); :func:`index_disagreement` says what the query
columns and index rows hold that the logged body does not. Each raises
:class:`~mics.ledger.store.rows.BadValue` for a value of the wrong type or shape;
the audit turns it into a ``modified`` finding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.errors import MicsError
from mics.ledger.leaf import leaf_data
from mics.ledger.store.rows import Reader, raw
from mics.trace import cbv
from mics.trace.event_hash import event_hash
from mics.trace.event_identifiers import biz_transactions, identifiers
from mics.trace.store import CaptureJobRow, EventBizTransactionRow, EventEpcRow, EventRow
from mics.trace.validate import parse_timestamp

__all__ = ["EVENT_COLUMNS", "StoredEvent", "index_disagreement", "indexed", "read_event", "rebuild"]

# An event row's columns, selected raw (``stored.raw``) in this order.
EVENT_COLUMNS = (
    EventRow.id,
    EventRow.event_id,
    EventRow.body,
    EventRow.record_time,
    EventRow.partner_id,
    EventRow.capture_id,
    EventRow.event_type,
    EventRow.event_time,
    EventRow.action,
    EventRow.biz_step,
    EventRow.disposition,
    EventRow.read_point,
    EventRow.biz_location,
)


Indexed = tuple[set[tuple[str, str]], set[tuple[str, str]]]  # identifiers, transactions


class StoredEvent(NamedTuple):
    """An event row's values, each read and checked by its column type."""

    id: int
    event_id: str
    body: str
    record_time: datetime
    partner_id: str
    capture_id: str
    event_type: str
    event_time: datetime
    action: str | None
    biz_step: str | None
    disposition: str | None
    read_point: str | None
    biz_location: str | None


def read_event(read: Reader, stored: tuple[Any, ...]) -> tuple[StoredEvent, dict[str, Any]]:
    """The raw values of ``EVENT_COLUMNS`` as a checked row, and its body as a JSON object."""
    key = stored[0]
    values = [read.value(c, v, key) for c, v in zip(EVENT_COLUMNS, stored, strict=True)]
    row = StoredEvent(*values)
    return row, read.json_object(EventRow.body, row.body, key)


def rebuild(
    s: Session, read: Reader, row: StoredEvent, event: dict[str, Any], contexts: dict[str, Any]
) -> bytes | None:
    """The leaf the stored event gives now, or ``None`` if it no longer makes one.

    ``contexts`` caches each capture job's ``@context`` (a bounded number of them)."""
    if row.capture_id not in contexts:
        if len(contexts) > 10_000:
            contexts.clear()
        stored = s.scalar(
            select(raw(CaptureJobRow.context)).where(CaptureJobRow.id == row.capture_id)
        )
        contexts[row.capture_id] = read.value(CaptureJobRow.context, stored, row.capture_id)
    try:
        digest = event_hash(event, contexts[row.capture_id])
        return leaf_data(digest, row.record_time, row.partner_id)
    except (MicsError, ValueError, TypeError, AttributeError, RecursionError):
        return None


def indexed(s: Session, events: list[int]) -> dict[int, Indexed]:
    """The identifier and business-transaction rows stored for ``events``."""
    found: dict[int, Indexed] = {}
    for part in range(0, len(events), 500):
        ids = events[part : part + 500]
        for event, epc, role in s.execute(
            select(EventEpcRow.event, EventEpcRow.epc, EventEpcRow.role).where(
                EventEpcRow.event.in_(ids)
            )
        ):
            found.setdefault(event, (set(), set()))[0].add((epc, role))
        for event, kind, value in s.execute(
            select(
                EventBizTransactionRow.event,
                EventBizTransactionRow.type,
                EventBizTransactionRow.value,
            ).where(EventBizTransactionRow.event.in_(ids))
        ):
            found.setdefault(event, (set(), set()))[1].add((kind, value))
    return found


def _term(value: Any) -> Any:
    return cbv.bare_term(value) if isinstance(value, str) else None


def index_disagreement(
    row: StoredEvent,
    event: dict[str, Any],
    stored: tuple[set[tuple[str, str]], set[tuple[str, str]]],
) -> str | None:
    """What the query columns and index rows say that the logged body does not.

    Queries, genealogy, visibility and passports read these, not the body: a
    change behind the log's back there must be caught like one in the body."""
    moment = row.event_time
    expected: dict[str, Any] = {
        "event_id": event.get("eventID"),
        "event_type": event.get("type"),
        "action": event.get("action"),
        "biz_step": _term(event.get("bizStep")),
        "disposition": _term(event.get("disposition")),
        "read_point": (event.get("readPoint") or {}).get("id"),
        "biz_location": (event.get("bizLocation") or {}).get("id"),
    }
    for column, value in expected.items():
        if getattr(row, column) != value:
            return (
                f"column {column} of event row {row.id} holds {getattr(row, column)!r}, the "
                f"logged event says {value!r}"
            )
    try:
        logged_time = parse_timestamp(event["eventTime"]).astimezone(UTC)
    except (KeyError, MicsError):
        logged_time = None
    if logged_time != moment.astimezone(UTC):
        return f"column event_time of event row {row.id} holds {moment.isoformat()}"
    if stored[0] != set(identifiers(event)):
        return f"the identifier index of event row {row.id} no longer matches its logged body"
    if stored[1] != set(biz_transactions(event)):
        return f"the business transactions of event row {row.id} no longer match its body"
    return None
