"""Scan verdicts published as EPCIS 2.0 events: the scan outbox and its publisher.

Recording (an outbox): ``passport.scans`` writes the scan row in the same
transaction as the tag counter; ``publish_pending`` later captures each verdict
as an EPCIS 2.0 ObjectEvent (action OBSERVE, bizStep ``inspecting``) through
``trace.capture.capture_built_in`` as the instance's operator, so it enters the
transparency log, and marks the scan rows in that same transaction; many
verdicts share one capture transaction under load (``VerdictPublisher`` runs it
off the event loop). A ``not_authentic`` scan never gets here.

Dispositions (CBV 2.0 §7.2, checked against ``trace.cbv.DISPOSITION``):

- ``authentic`` → ``conformant``: CBV 2.0's outcome of an inspection that found
  the object meets its requirements (``active`` would re-assert commissioning,
  which an inspection does not do);
- ``not_authentic``, ``replay``, ``possible_clone`` → the user-vocabulary term
  ``https://mics.example/voc/Disp-suspected_counterfeit`` (CBV 2.0 §8): CBV has
  no counterfeit term, and ``non_conformant`` or ``damaged`` would say the
  genuine item named in the URL is faulty, when what failed is the carrier
  presented for it;
- ``stolen`` → ``stolen`` (CBV 2.0); ``lost`` → the user term
  ``https://mics.example/voc/Disp-reported_lost`` (CBV has none).

The verdict, its reason and the tag counter travel in the extension fields
``mics:verdict``, ``mics:reason``, ``mics:tagCounter``. No key ever does.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, String, bindparam, func, select, update
from sqlalchemy.dialects import postgresql

from mics.db import Database
from mics.passport.authenticity import Verdict
from mics.passport.digital_link import GS1_RESOLVER, DigitalLink
from mics.passport.scans import LOST, STOLEN
from mics.passport.store import ReadPointRow, TagScanRow
from mics.registry.reads import item_keys
from mics.storage.locks import exclusive, file_lock
from mics.storage.scan_group import scan_group
from mics.storage.statements import Statement, dbapi_connection
from mics.storage.write_gate import GateBusy, write_gate
from mics.trace import partitions
from mics.trace.capture import capture_built_in

VERDICTS = (*(v.value for v in Verdict), STOLEN, LOST)
MICS_VOC = "https://mics.example/voc/"
SUSPECTED_COUNTERFEIT = f"{MICS_VOC}Disp-suspected_counterfeit"
DISPOSITIONS = {
    Verdict.AUTHENTIC.value: "conformant",
    Verdict.NOT_AUTHENTIC.value: SUSPECTED_COUNTERFEIT,
    Verdict.REPLAY.value: SUSPECTED_COUNTERFEIT,
    Verdict.POSSIBLE_CLONE.value: SUSPECTED_COUNTERFEIT,
    STOLEN: "stolen",
    LOST: f"{MICS_VOC}Disp-reported_lost",
}
CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"mics": MICS_VOC},
]
# Event ids are UUIDs named by the instance and the scan row, so publishing a
# verdict twice (a crash between capture and marking) captures one event.
_EVENT_NAMESPACE = uuid.UUID("6f1d3a52-2c0e-4a7b-9a51-3c2f5b0e8d11")
# Verdicts per capture transaction. The publisher holds the SQLite write gate for
# the whole capture (~0.2 ms an event), and every scan's own write waits behind
# it: 2,000 held the gate ~400 ms and set the scans' p99 (bench/scan.py: 326 ms
# with one worker, stalls with two); 50 hold it ~10 ms at ~1.3x the CPU per event.
PUBLISH_BATCH = 50
# PostgreSQL has no gate (scans lock their tag rows only) and the publisher runs on its
# own thread: batches of up to 500 cost half the time a verdict of batches of 50 did
# (bench/scan_parts.py on PostgreSQL; the capture's fixed cost is round trips).
SHARED_BATCH = 500
_log = logging.getLogger(__name__)


class PendingScan(NamedTuple):
    """A recorded scan whose verdict is not yet an EPCIS event, with its item's keys."""

    id: int
    verdict: str
    reason: str
    scanned_at: datetime
    latitude: float | None
    longitude: float | None
    counter: int | None
    gtin: str
    serial: str
    read_point_gln: str | None


def verdict_event(scan: PendingScan) -> dict[str, Any]:
    """The EPCIS 2.0 ObjectEvent that records one scan's verdict."""
    gtin, serial, read_point_gln = scan.gtin, scan.serial, scan.read_point_gln
    epc = DigitalLink(gtin=gtin, serial=serial).uri(GS1_RESOLVER)
    at = scan.scanned_at
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": f"urn:uuid:{uuid.uuid5(_EVENT_NAMESPACE, f'tag-scan:{scan.id}:{epc}')}",
        "eventTime": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "disposition": DISPOSITIONS[scan.verdict],
        "mics:verdict": scan.verdict,
        "mics:reason": scan.reason,
    }
    if read_point_gln:
        event["readPoint"] = {"id": f"{GS1_RESOLVER}/414/{read_point_gln}"}
    elif scan.latitude is not None and scan.longitude is not None:
        # RFC 5870 geo URI: EPCIS 2.0 lets any URI name a read point.
        event["readPoint"] = {"id": f"geo:{scan.latitude:.5f},{scan.longitude:.5f}"}
    if scan.counter is not None:
        event["mics:tagCounter"] = scan.counter
    return event


def batch_size(db: Database) -> int:
    """Verdicts per capture: small under SQLite's write gate, larger on PostgreSQL."""
    return PUBLISH_BATCH if db.engine.dialect.name == "sqlite" else SHARED_BATCH


def publish_pending(
    db: Database, operator: str, *, limit: int | None = None, wait: bool = True
) -> int:
    """The publisher's claim-and-publish step: capture up to ``limit`` unrecorded verdicts
    (default ``batch_size(db)``) as EPCIS events and mark their scans; how many were.

    The events are captured unvalidated (``capture_events(built=True)``): MICS builds
    them from its own checked values, and the tests validate every kind
    (tests/passport/test_scans.py). With ``wait=False`` a busy write gate raises
    ``GateBusy`` before anything is written. Several publishers (server processes) may
    run it at once: the capture's log lock orders them, and the events' ids (uuid5 of
    the scan) make a verdict that two read captured once, counted as a duplicate by the
    second.
    """
    # Plain statements on one pooled connection (``mics.storage.statements``): with the ORM
    # these two cost a one-verdict publish ~2 ms of its ~5 on the bench machine.
    dialect = db.engine.dialect
    params = {"limit": batch_size(db) if limit is None else limit}
    with dbapi_connection(db.engine) as conn:
        rows = [PendingScan(*row) for row in _PENDING.rows(conn, dialect, params)]
    if not rows:
        return 0
    events = [verdict_event(scan) for scan in rows]

    def mark(connection: Connection) -> None:
        if dialect.name == "postgresql":  # one statement, one round trip, for the batch
            marks = {"scans": [row.id for row in rows], "events": [e["eventID"] for e in events]}
            _MARK_ALL.execute(connection.connection, dialect, marks)
            return
        pairs = zip(rows, events, strict=True)
        marked = [{"scan": row.id, "event": event["eventID"]} for row, event in pairs]
        _MARK.execute_many(connection.connection, dialect, marked)

    # Captured and marked in one transaction. Their eventIDs (uuid5 of the scan) also
    # make a second publisher that read the same rows meanwhile store nothing twice.
    partitions.ensure_months(db, datetime.now(UTC))  # before the transaction (DDL)
    with write_gate(db)(wait=wait), db.transaction() as s:
        capture_built_in(s, events, CONTEXT, operator)
        mark(s.connection())
    return len(rows)


_KEYS = item_keys()
_PENDING = Statement(
    select(
        TagScanRow.id,
        TagScanRow.verdict,
        TagScanRow.reason,
        TagScanRow.scanned_at,
        TagScanRow.latitude,
        TagScanRow.longitude,
        TagScanRow.counter,
        _KEYS.gtin,
        _KEYS.serial,
        ReadPointRow.gln,
    )
    .join(_KEYS.source, _KEYS.id == TagScanRow.item_id)
    .outerjoin(ReadPointRow, ReadPointRow.id == TagScanRow.read_point_id)
    .where(TagScanRow.event_id.is_(None))
    .order_by(TagScanRow.id)
    .limit(bindparam("limit", type_=Integer))
)
_MARK = Statement(
    update(TagScanRow).where(TagScanRow.id == bindparam("scan")).values(event_id=bindparam("event"))
)
# PostgreSQL: UPDATE tag_scan SET event_id = marks.event FROM unnest(:scans, :events) AS marks
_MARKS = (
    func.unnest(
        bindparam("scans", type_=postgresql.ARRAY(Integer)),
        bindparam("events", type_=postgresql.ARRAY(String)),
    )
    .table_valued("scan", "event")
    .render_derived(name="marks")
)
_MARK_ALL = Statement(
    update(TagScanRow).where(TagScanRow.id == _MARKS.c.scan).values(event_id=_MARKS.c.event)
)


def publish_all(db: Database, operator: str) -> int:
    total = 0
    while count := publish_pending(db, operator):
        total += count
    return total


class VerdictPublisher:
    """Coalesces publishing: many scans, one capture at a time, nothing left behind.

    ``publish()`` drains the outbox unless another call is already draining it;
    that call first waits ``delay`` seconds so that the scans arriving meanwhile
    share one capture transaction (one event alone costs ~10x its share of a
    batch), then loops until no new scan arrived while it worked. ``notify()``
    is what a request schedules after its answer: it only marks the outbox
    dirty when a drain is already running, so most requests cost no thread.
    With ``lock_file``, worker processes of one server take turns through an
    advisory file lock: two drains never capture the same verdicts at once.
    """

    def __init__(
        self, db: Database, operator: str, delay: float = 0.1, lock_file: Path | None = None
    ) -> None:
        self.db, self.operator, self.delay, self.lock_file = db, operator, delay, lock_file
        self._lock = threading.Lock()
        self._dirty = False
        self._drainer: ThreadPoolExecutor | None = None
        self._task: asyncio.Task[None] | None = None

    async def notify(self) -> None:
        """Mark the outbox dirty and start a drain if none runs; never wait for it.

        A request's background task holds its keep-alive connection until it
        returns: waiting out ``delay`` plus a capture there stalled one
        connection in every drain (p99 > 200 ms, bench/scan.py). On SQLite the
        drain runs on the event loop itself, one batch at a time with the
        requests in between: on a thread it fought the loop for the GIL and for
        the write gate, and scans fell to a third. Elsewhere it runs on a thread.
        """
        self._dirty = True
        if self._lock.locked():
            return
        if self.db.engine.dialect.name == "sqlite":
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._drain_on_loop())
            return
        if self._drainer is None:
            self._drainer = ThreadPoolExecutor(1, thread_name_prefix="verdict-publisher")
        self._drainer.submit(self.publish)

    async def idle(self) -> None:
        """Wait until the drain under way, if any, has finished (on the loop or a thread)."""
        if self._task is not None:
            await self._task
        self.close()

    def close(self) -> None:
        """Wait for a drain running on the publisher's thread, if any."""
        drainer, self._drainer = self._drainer, None
        if drainer is not None:
            drainer.shutdown(wait=True)

    async def _drain_on_loop(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            await self._drain_batches()
        except Exception:  # the outbox keeps the verdicts: the next notify retries
            _log.exception("publishing tag-scan verdicts failed")
        finally:
            self._lock.release()

    async def _drain_batches(self) -> None:
        """Publish what is pending, ``delay`` after the first notice and then every ``delay``.

        Within a round, full batches follow each other (the requests waiting go
        first between two); a short batch ends the round. Scans arriving meanwhile
        wait for the next round rather than each starting a small capture: a
        capture costs ~8 ms before its first event on the bench machine, and
        publishing whatever the last 32 requests left took 38% of the server's CPU
        at ~500 scans/s (py-spy under bench/scan.py).
        """
        await asyncio.sleep(self.delay)
        while self._dirty:
            self._dirty = False
            with self._between_processes(wait=False) as ours:
                if not ours:  # another worker is draining: look again later
                    self._dirty = True
                    await asyncio.sleep(self.delay)
                    continue
                while True:
                    # between two groups of scans (``scan_group``): none opens meanwhile
                    async with scan_group(self.db).paused():
                        try:
                            published = publish_pending(self.db, self.operator, wait=False)
                        except GateBusy:  # another process or thread holds the database
                            published = -1
                    if published < 0:
                        await asyncio.sleep(0.005)
                        continue
                    if published < PUBLISH_BATCH:
                        break
                    await asyncio.sleep(0)  # the requests waiting go first
            if self._dirty:
                await asyncio.sleep(self.delay)

    def publish(self) -> None:
        self._dirty = True
        while self._dirty and self._lock.acquire(blocking=False):
            try:
                time.sleep(self.delay)
                with self._between_processes(wait=True):
                    while self._dirty:
                        self._dirty = False
                        publish_all(self.db, self.operator)
            finally:
                self._lock.release()

    @contextmanager
    def _between_processes(self, *, wait: bool) -> Iterator[bool]:
        """Hold the publishers' lock; yields False when busy and ``wait`` is False.

        On PostgreSQL a database advisory lock (``mics.storage.locks``), which every
        ``mics serve`` process on every host sees; elsewhere the file lock."""
        if self.db.engine.dialect.name == "postgresql":
            with exclusive(self.db, "verdict-publisher", wait=wait) as held:
                yield held
            return
        if self.lock_file is None:
            yield True
            return
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(self.lock_file, wait=wait) as held:
            yield held
