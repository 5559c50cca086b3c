"""Trace's read API for the areas above it: stored events, by ID or by what they name.

The passport reads events through these functions, inside its own session, and
gets frozen dataclasses or plain values back: no trace table class leaves this
package (``ARCHITECTURE.md``). Bodies are the stored EPCIS 2.0 JSON-LD text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Select, bindparam, func, select
from sqlalchemy.orm import Session

from mics.trace.store import ROLES, CaptureJobRow, EventEpcRow, EventRow

__all__ = [
    "LAST_EVENT_ID",
    "EventSummary",
    "Recall",
    "event_bodies",
    "event_summaries",
    "last_event_id",
    "linking_bodies",
    "named_between",
    "new_events_naming",
    "recalls",
]


@dataclass(frozen=True)
class EventSummary:
    """A stored event's row id, EPCIS eventID, CBV 2.0 hash, time, business step, partner."""

    pk: int
    event_id: str
    event_hash: str
    event_time: datetime
    biz_step: str | None
    partner_id: str


@dataclass(frozen=True)
class Recall:
    """An identifier named by an event with disposition ``recalled``, who captured it and
    in which role (``capture_job.role``: ``authority`` for a market authority)."""

    epc: str
    partner_id: str
    role: str | None


def event_bodies(s: Session, event_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Each event's body text and capturing partner, by eventID."""
    query = select(EventRow.event_id, EventRow.body, EventRow.partner_id).where(
        EventRow.event_id.in_(list(event_ids))
    )
    return {event_id: (body, partner) for event_id, body, partner in s.execute(query)}


def event_summaries(s: Session, event_ids: Iterable[str]) -> list[EventSummary]:
    query = select(
        EventRow.id,
        EventRow.event_id,
        EventRow.event_hash,
        EventRow.event_time,
        EventRow.biz_step,
        EventRow.partner_id,
    ).where(EventRow.event_id.in_(list(event_ids)))
    return [EventSummary(*row) for row in s.execute(query)]


def linking_bodies(
    s: Session, epcs: Iterable[str], partners: Iterable[str]
) -> list[tuple[str, str]]:
    """``(partner, body text)`` of the distinct events by ``partners`` naming any of ``epcs``."""
    query = (
        select(EventRow.partner_id, EventRow.body)
        .join(EventEpcRow, EventEpcRow.event == EventRow.id)
        .where(EventEpcRow.epc.in_(sorted(epcs)), EventRow.partner_id.in_(sorted(partners)))
        .distinct()
    )
    return [(str(partner), body) for partner, body in s.execute(query)]


def recalls(
    s: Session,
    roles: Iterable[str],
    epcs: Iterable[str] | None = None,
    prefix: str | None = None,
) -> list[Recall]:
    """Identifiers in ``roles`` named by ``recalled`` events: those in ``epcs``, else those
    starting with ``prefix``; each ``(epc, partner, capture role)`` once."""
    query = (
        select(EventEpcRow.epc, EventRow.partner_id, CaptureJobRow.role)
        .join(EventEpcRow, EventEpcRow.event == EventRow.id)
        .join(CaptureJobRow, CaptureJobRow.id == EventRow.capture_id)
        .where(EventRow.disposition == "recalled", EventEpcRow.role.in_(list(roles)))
    )
    if epcs is not None:
        query = query.where(EventEpcRow.epc.in_(sorted(epcs)))
    elif prefix is not None:
        query = query.where(EventEpcRow.epc.startswith(prefix))
    return [Recall(*row) for row in s.execute(query.distinct())]


# The row id of the newest stored event (NULL in an empty store): a watermark.
LAST_EVENT_ID = select(func.max(EventRow.id))


def last_event_id(conn: Connection | Session) -> int:
    """The row id of the newest stored event (0 in an empty store): a watermark."""
    return int(conn.scalar(LAST_EVENT_ID) or 0)


Skip = Callable[[ColumnElement[str]], ColumnElement[bool]]


def _new_events(names: ColumnElement[bool], skip: Skip | None) -> Select[str]:
    where = [
        names,
        # every role: the (epc, role, event) index then seeks to the new events
        # instead of reading each identifier's whole history
        # (one placeholder per role, not an expanding list: it compiles once)
        EventEpcRow.role.in_([bindparam(f"role_{n}", role) for n, role in enumerate(ROLES)]),
        EventEpcRow.event > bindparam("after"),
        EventEpcRow.event <= bindparam("upto"),
    ]
    if skip is not None:
        where.append(skip(EventRow.event_id.expression))
    return (
        select(EventRow.body)
        .join(EventEpcRow, EventEpcRow.event == EventRow.id)
        .where(*where)
        .limit(bindparam("limit"))
    )


def new_events_naming(skip: Skip | None = None) -> Select[str]:
    """Bodies of up to ``:limit`` events stored in ``(:after, :upto]`` naming ``:epc``.

    A statement to compile once (``mics.storage.statements``). ``skip(event_id)``,
    when given, is a condition on the event's EPCIS eventID that leaves an event
    out in SQL (the passport's own scan verdicts).
    """
    return _new_events(EventEpcRow.epc == bindparam("epc"), skip)


def named_between(
    conn: Connection, after: int, upto: int, limit: int, skip: Skip | None = None
) -> list[str]:
    """The identifiers (up to ``limit``, distinct) named by events stored in ``(after, upto]``.

    ``skip(event_id)``, when given, leaves an event out in SQL. A range of the
    ``(event, epc, role)`` key: what a batch of captures just named.
    """
    where = [EventEpcRow.event > after, EventEpcRow.event <= upto]
    if skip is not None:
        where.append(skip(EventRow.event_id.expression))
    query = (
        select(EventEpcRow.epc)
        .join(EventRow, EventRow.id == EventEpcRow.event)
        .where(*where)
        .distinct()
        .limit(limit)
    )
    return [str(epc) for epc in conn.scalars(query)]
