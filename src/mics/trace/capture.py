"""Capture: validate, hash, store and log an EPCIS document in one transaction.

Follows the EPCIS 2.0 REST binding's capture semantics (EPCIS 2.0 §12.2): a
capture job per document, all-or-nothing by default
(``GS1-Capture-Error-Behaviour: rollback``), or ``proceed`` to store the valid
events and report the others. Events are read one at a time and written in
batches; each stored event gets its CBV 2.0 hash (the eventID when it has none)
and a leaf in the transparency log, in the same transaction. Capturing an event
that is already stored (same eventID and hash) stores nothing and counts it as a
duplicate.

The capture's parts live beside it: ``mics.trace.prepare`` validates and hashes each
batch (in worker processes for a large document, ``mics.runtime.process_pool``),
``mics.trace.capture_rows`` writes the rows and log leaves, and
``mics.trace.capture_jobs`` keeps the capture job. ``capture_events`` holds the
database's write gate (``mics.storage.write_gate``) and opens the transaction;
``capture_in`` and ``capture_built_in`` capture in a transaction the caller holds,
so that what it writes there commits with the events or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import InvalidInput, TooLarge
from mics.runtime import process_pool
from mics.storage.write_gate import write_gate
from mics.trace import documents, json_text, partitions
from mics.trace.capture_jobs import (
    FINISHED_JOB,
    NEW_JOB,
    CaptureResult,
    job,
    job_row,
    record_failure,
)
from mics.trace.capture_rows import EVENT_COLUMNS, Writer
from mics.trace.inline_namespaces import lift_declarations, lift_document
from mics.trace.prepare import Batch, prepare
from mics.trace.validate import (
    DOCUMENT_EVENTS,
    MAX_PROBLEMS,
    QUERY_EVENTS,
    DocumentInvalid,
    Problem,
    validate_document,
)

__all__ = [
    "BATCH",
    "BEHAVIOURS",
    "CAPTURE_LIMIT",
    "EVENT_COLUMNS",
    "LARGE_DOCUMENT_BYTES",
    "CaptureResult",
    "capture_built_in",
    "capture_document",
    "capture_events",
    "capture_in",
    "capture_stream",
    "check_behaviour",
    "job",
    "start_workers",
]

BATCH = 2000
# A document this large (~3 batches of ~700-byte JSON events; XML events are ~1 KB) may be
# worth starting the worker processes for before it is read (``start_workers``).
_BATCH_BYTES = BATCH * 700
LARGE_DOCUMENT_BYTES = 3 * _BATCH_BYTES
CAPTURE_LIMIT = 100_000  # events per document, advertised as GS1-EPCIS-Capture-Limit
BEHAVIOURS = ("rollback", "proceed")
# EPCIS 2.0 §8.2.1 / §12.2: capture takes an EPCISDocument; an EPCISQueryDocument carries query
# results or a query-control message (Poll, Subscribe, ...), never events to capture.
CAPTURE_DOCUMENT = "EPCISDocument"
_NOT_A_CAPTURE = (
    "'EPCISDocument': capture takes an EPCIS document; a query document or query-control "
    "message belongs to the query interface (/epcis/queries, /epcis/events)"
)


def check_behaviour(value: str | None) -> str:
    behaviour = (value or "rollback").strip().lower()
    if behaviour not in BEHAVIOURS:
        raise InvalidInput(
            "unknown capture error behaviour",
            field="GS1-Capture-Error-Behaviour",
            value=value,
            expected="rollback or proceed",
        )
    return behaviour


def capture_stream(
    db: Database,
    stream: IO[bytes],
    binding: str,
    partner: str,
    *,
    behaviour: str = "rollback",
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    role: str | None = None,
) -> CaptureResult:
    """Capture the document in ``stream`` (``json`` or ``xml`` binding) as ``partner``;
    ``role``: that of the API key it came with (kept with the capture job)."""
    with documents.opened(stream, binding) as (header, events):
        header_problems = _header_problems(header, now)
        if header_problems:
            raise DocumentInvalid(header_problems)
        return capture_events(
            db,
            events,
            header.context,
            partner,
            behaviour=behaviour,
            now=now,
            progress=progress,
            base=QUERY_EVENTS if header.is_query else DOCUMENT_EVENTS,
            role=role,
            binding=header.binding,
        )


def capture_document(
    db: Database,
    document: dict[str, Any],
    partner: str,
    *,
    behaviour: str = "rollback",
    now: datetime | None = None,
) -> CaptureResult:
    """Capture an EPCIS document already parsed into a dict."""
    json_text.check_depth(document)  # what a JSON or XML text could not carry either
    kind = document.get("type") if isinstance(document, dict) else None
    if kind != CAPTURE_DOCUMENT:
        raise DocumentInvalid([Problem(None, "/type", kind, _NOT_A_CAPTURE)])
    document = lift_document(document)
    if behaviour == "rollback":
        events = validate_document(document, now=now)
    else:
        events = _events_of(document)
    return capture_events(
        db, events, document.get("@context"), partner, behaviour=behaviour, now=now
    )


def _events_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    header = {k: v for k, v in document.items() if k != "epcisBody"}
    problems = _header_problems(documents.Header(header, "json"), None)
    if problems:
        raise DocumentInvalid(problems)
    body = document.get("epcisBody") or {}
    if "queryResults" in body:
        body = (body.get("queryResults") or {}).get("resultsBody") or {}
    events = body.get("eventList") or []
    return list(events) if isinstance(events, list) else []


def _header_problems(header: documents.Header, now: datetime | None) -> list[Problem]:
    kind = header.fields.get("type")
    if kind != CAPTURE_DOCUMENT:
        return [Problem(None, "/type", kind, _NOT_A_CAPTURE)]
    try:
        validate_document(header.as_document([]), now=now)
    except DocumentInvalid as invalid:
        problems = [p for p in invalid.problems if not p.pointer.endswith("/eventList")]
    else:
        problems = []
    if not header.has_event_list:
        where = QUERY_EVENTS if header.is_query else DOCUMENT_EVENTS
        problems.append(Problem(None, where, None, "an array of events"))
    return problems


def capture_events(
    db: Database,
    events: Iterable[dict[str, Any]],
    context: Any,
    partner: str,
    *,
    behaviour: str = "rollback",
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    base: str = DOCUMENT_EVENTS,
    role: str | None = None,
    binding: str = "json",
) -> CaptureResult:
    """Capture ``events`` in one transaction of their own, as ``partner``.

    Waits for the database's write gate (on SQLite one long writer at a time,
    ``mics.storage.write_gate``). A capture refused whole (``DocumentInvalid``) leaves
    a failed capture job with its problems. ``binding``: the syntax the events came
    in (``json`` or ``xml``), whose schemas differ in a few rules (a sensorReport's
    ``type``); ``base``: the JSON pointer of the document's event list.
    """
    behaviour = check_behaviour(behaviour)
    now = _utc(now)
    result = CaptureResult(capture_id=str(uuid.uuid4()), success=False)
    partitions.ensure_months(db, now)  # PostgreSQL: the month's partition, once
    try:
        with write_gate(db)(), db.transaction() as s:
            _capture(
                s,
                result,
                events,
                _Job(context, partner, behaviour, now, base, role, binding),
                progress,
            )
    except DocumentInvalid:
        record_failure(db, result, partner, now, behaviour, context, role)
        raise
    return result


def capture_in(
    s: Session,
    events: Iterable[dict[str, Any]],
    context: Any,
    partner: str,
    *,
    behaviour: str = "rollback",
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    base: str = DOCUMENT_EVENTS,
    role: str | None = None,
    binding: str = "json",
) -> CaptureResult:
    """``capture_events`` in the caller's transaction ``s``: what the caller writes there
    commits with the events or not at all. The caller holds the write gate; a capture
    refused whole raises ``DocumentInvalid`` and leaves the rollback to the caller. The
    log's lock, taken when the first event is written, is held until the caller's
    transaction ends: what it writes after the capture is ordered with the log too. On
    PostgreSQL the caller first makes the month's partition (``partitions.ensure_months``,
    DDL, outside its transaction)."""
    behaviour = check_behaviour(behaviour)
    result = CaptureResult(capture_id=str(uuid.uuid4()), success=False)
    job = _Job(context, partner, behaviour, _utc(now), base, role, binding)
    _capture(s, result, events, job, progress)
    return result


def capture_built_in(
    s: Session, events: Iterable[dict[str, Any]], context: Any, partner: str
) -> CaptureResult:
    """Capture, in the caller's transaction ``s``, events MICS built itself from checked values.

    For the tag-scan verdicts (``passport.verdict_events.verdict_event``, whose every
    kind the tests run through ``validate_event``): the per-event validation, a fifth
    of publishing a verdict, is skipped. Never for events that came from outside.
    The caller holds the write gate (``mics.storage.write_gate``) and commits.
    """
    result = CaptureResult(capture_id=str(uuid.uuid4()), success=False)
    _capture(s, result, events, _Job(context, partner, "rollback", _utc(None), built=True), None)
    return result


def start_workers(size: int = 0) -> bool:
    """Start the worker processes that prepare large captures, now and on a thread
    (``mics.runtime.process_pool.warm``), if a document of ``size`` bytes (0: any
    large one, for a server at start-up) would use them. False when none start (none
    configured, the document too small, or the machine too busy for it)."""
    batches = size // _BATCH_BYTES if size else process_pool.MIN_ITEMS
    if not process_pool.worth_it(batches):
        return False
    return process_pool.warm(prepare.__module__)


def _utc(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


@dataclass(frozen=True)
class _Job:
    """What one capture is asked to do (the capture job's parameters)."""

    context: Any
    partner: str
    behaviour: str
    now: datetime
    base: str = DOCUMENT_EVENTS
    role: str | None = None
    binding: str = "json"
    built: bool = False  # events MICS built itself: not validated again


def _capture(
    s: Session,
    result: CaptureResult,
    events: Iterable[dict[str, Any]],
    job: _Job,
    progress: Callable[[int], None] | None,
) -> None:
    """The capture, in ``s``: the job row, then each batch prepared and written (the first
    write takes the log's lock, held to the end of the transaction)."""
    now, context = job.now, job.context
    record_time = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if not job.built:  # @xmlns: keys of converted EPCIS 1.2 events become their own @context
        events = (lift_declarations(e, context) if isinstance(e, dict) else e for e in events)
    connection = s.connection()
    connection.execute(NEW_JOB, job_row(result, job.partner, now, job.behaviour, context, job.role))
    # The log's lock is taken by the writer, at the first batch it writes: validating and
    # hashing need no lock, so concurrent captures (server processes on one PostgreSQL)
    # prepare side by side and one refused whole never queues for it.
    writer = Writer(s, result, job.partner, record_time, context, job.base, now)
    past = _Past()
    # Batches are validated and hashed ahead, in worker processes when that wins
    # (mics.runtime.process_pool), and written here in document order.
    for batch, (problems, prepared) in process_pool.in_order(
        prepare,
        _batches(enumerate(events), BATCH, past),
        context,
        now,
        job.base,
        job.built,
        job.binding,
    ):
        result.problems.extend(problems)
        if result.problems and job.behaviour == "rollback":
            if len(result.problems) >= MAX_PROBLEMS:
                break
            continue  # keep validating to report every problem; store nothing
        writer.write(batch, prepared)
        if progress:
            progress(len(batch))
    else:
        if past.index is not None:
            raise TooLarge(
                f"the document has more than {CAPTURE_LIMIT} events",
                field="eventList",
                value=past.index + 1,
                expected=f"at most {CAPTURE_LIMIT} events (GS1-EPCIS-Capture-Limit)",
            )
    if result.problems and job.behaviour == "rollback":
        raise DocumentInvalid(result.problems[:MAX_PROBLEMS])
    connection.execute(FINISHED_JOB, result.finished())
    result.success = True


@dataclass
class _Past:
    """Where a document went past ``CAPTURE_LIMIT`` (the index of its first event too many)."""

    index: int | None = None


def _batches(
    events: Iterable[tuple[int, dict[str, Any]]], size: int, past: _Past
) -> Iterator[Batch]:
    """``events`` in lists of ``size``, up to the first past ``CAPTURE_LIMIT`` (noted in ``past``).

    Not raised here: batches are read ahead of the one being written, and a capture
    that stops at ``MAX_PROBLEMS`` first must say so rather than "too large".
    """
    batch: Batch = []
    for item in events:
        if item[0] >= CAPTURE_LIMIT:
            past.index = item[0]
            break
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
