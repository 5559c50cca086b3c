"""Scan verification: a tapped tag's SUN URL in, a recorded verdict out.

A scan URL is the item's GS1 Digital Link with the tag's SUN parameters,
``/01/{gtin}/21/{serial}?e=..&c=..``. ``verify_scan`` checks it per NXP AN12196
(``sun.verify_sun``: decrypt the PICCData, check the SDMMAC under the tag's
AN10922-diversified key), judges it against the tag's last accepted scan
(``authenticity.judge_scan``: replay, impossible travel) and against the item's
lost-or-stolen status, then records it.

Replay safety (AN12196 §3.4: "the back end must keep the last counter"): the
counter moves forward only through one conditional UPDATE, ``... SET counter =
:c WHERE id = :id AND counter < :c``, whose row count says whether this scan won.
Of two concurrent scans with the same counter, one is accepted and the other is
a replay, on SQLite (writes serialise) and on PostgreSQL (the second UPDATE waits
for the first row lock, then re-reads the row and matches nothing).

Recording (an outbox): the scan row is written in the same transaction as the
counter; ``publish_pending`` later captures each verdict as an EPCIS 2.0
ObjectEvent (action OBSERVE, bizStep ``inspecting``) through
``trace.capture.capture_events`` as the instance's operator, so it enters the
transparency log, and marks the scan rows in that same transaction; many
verdicts share one capture transaction under load. A ``not_authentic`` scan
proves nothing about the item (anyone can make one up) and stays out of the
log: it is recorded in ``passport.rejected``, bounded per item. With ``limits``
(the API's), failed scans are rationed per client and per tag
(``passport.scan_limits``): a scan over either budget is refused (429) before
anything is written.
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
import fcntl
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, insert, select, update
from sqlalchemy.engine import Dialect

from mics.db import Database
from mics.errors import InvalidInput, NotFound, Unavailable, VerificationError
from mics.passport import rejected
from mics.passport.authenticity import GeoPoint, LastSeen, Verdict, judge_scan
from mics.passport.digital_link import GS1_RESOLVER, DigitalLink
from mics.passport.ownership_store import OwnershipRow, PassportItemRow
from mics.passport.scan_limits import ScanLimiter
from mics.passport.store import NEVER_READ, NfcTagRow, ReadPointRow, TagScanRow
from mics.passport.sun import SunMasterKey, SunReading, parse_sun_params, verify_sun
from mics.registry.store import ItemRow, ProductRow
from mics.storage.scan_group import ScanGroup, scan_group
from mics.storage.statements import Statement, dbapi_connection
from mics.storage.write_gate import GateBusy, write_gate
from mics.trace.capture import capture_events

STOLEN = "stolen"
LOST = "lost"
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
# What anyone can produce without the tag in hand: a made-up or another tag's SUN
# message (not_authentic), a URL read before (replay). Rationed by ``limits``.
FAILED = frozenset({Verdict.NOT_AUTHENTIC.value, Verdict.REPLAY.value})
_log = logging.getLogger(__name__)


class Owned(NamedTuple):
    """An item's ownership as a scan reads it (``passport_cache.ownership_of`` takes it)."""

    has_secret: bool  # a packaging secret was issued
    report: str | None  # the owner's lost/stolen report
    periods: tuple[tuple[datetime, datetime | None], ...]  # (since, until) of each owner


@dataclass(frozen=True)
class ScanResult:
    """The verdict on one scan, as the scanner is told it: never any key material."""

    verdict: str
    reason: str
    item_id: int
    gtin: str
    serial: str
    uid: str | None
    counter: int | None
    scanned_at: datetime
    distance_km: float | None = None
    speed_kmh: float | None = None
    # The item's ownership as the scan read it (passport_cache.Ownership), so that
    # the passport beside the verdict needs no second read.
    ownership: Owned | None = None

    @property
    def authentic(self) -> bool:
        return self.verdict == Verdict.AUTHENTIC.value

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "item": {"id": self.item_id, "gtin": self.gtin, "serial": self.serial},
            "uid": self.uid,
            "counter": self.counter,
            "scanned_at": self.scanned_at.isoformat(),
            "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
            "speed_kmh": None if self.speed_kmh is None else round(self.speed_kmh, 1),
        }


def verify_scan(
    db: Database,
    master: SunMasterKey,
    link: DigitalLink,
    e_hex: str,
    c_hex: str,
    *,
    place: GeoPoint | None = None,
    read_point: str | None = None,
    now: datetime | None = None,
    wait: bool = True,
    group: ScanGroup | None = None,
    limits: ScanLimiter | None = None,
    client: str | None = None,
) -> ScanResult:
    """Verify, judge and record one scan of the item ``link`` names.

    Malformed ``e``/``c`` and unknown items raise (InvalidInput, NotFound): there
    is nothing to judge. Everything else yields a verdict, recorded. With
    ``wait=False`` a busy SQLite write gate raises ``write_gate.GateBusy`` before
    anything is written (the caller retries where waiting is harmless). With a
    ``group`` (on the event loop) the scan reads and writes in the group's
    transaction and the caller waits for the group's commit before answering.
    With ``limits``, ``client`` (``scan_limits.client_key``) or the item's tag over
    its failed-scan budget raises ``TooManyRequests`` before anything is written.
    """
    if limits is not None:
        limits.admit(client)
    e, c = parse_sun_params(e_hex, c_hex)
    if link.serial is None:
        raise InvalidInput(
            f"{link.uri()} names no serial; a tag belongs to one item",
            field="serial",
            value=None,
            expected="a scan URL /01/{gtin}/21/{serial}?e=..&c=..",
        )
    now = now or datetime.now(UTC)
    reading: SunReading | None
    try:
        reading = verify_sun(e, c, master.meta_read_key, master.file_read_key)
        failure = ""
    except VerificationError as error:
        reading, failure = None, error.message
    # One pooled DBAPI connection for the scan, its statements on the driver's own
    # cursor (``mics.storage.statements``: SQLAlchemy's execution machinery was most of a
    # scan). First one short read: the item, its tag, the tag that was read, the
    # read point and the owner's lost/stolen report.
    dialect = db.engine.dialect
    with ExitStack() as own:
        if group is None:
            conn = own.enter_context(dbapi_connection(db.engine))
        else:
            conn, _ = group.join()
        item_id, item_tag, report, owned = _item_state(conn, dialect, link)
        read_tag = None
        if reading is not None:
            uid = reading.uid.hex().upper()
            read_tag = item_tag if item_tag is not None and item_tag.uid == uid else None
            if read_tag is None:
                other = _TAG_OF_UID.rows(conn, dialect, {"uid": uid})
                read_tag = TagState(*other[0]) if other else None
        if read_point is not None:
            point = _READ_POINT.rows(conn, dialect, {"id": read_point})
            if not point:
                raise NotFound(f"no read point {read_point!r}", field="rp", value=read_point)
            place = GeoPoint(*point[0])
        judgement = judge_scan(
            reading,
            None if item_tag is None else bytes.fromhex(item_tag.uid),
            _last_seen(read_tag),
            now,
            place,
        )
        verdict, reason = judgement.verdict.value, judgement.reason
        if reading is None:
            reason = f"{reason}: {failure}"
        elif read_tag is None:
            verdict = Verdict.NOT_AUTHENTIC.value
            reason = f"tag {reading.uid.hex().upper()} is not registered to any item"
        elif item_tag is None:
            verdict = Verdict.NOT_AUTHENTIC.value
            # which item the tag belongs to is not the scanner's business
            reason = f"this item has no tag, but tag {read_tag.uid} was read"
        status = report if verdict == Verdict.AUTHENTIC.value and report in (STOLEN, LOST) else None
        if limits is not None and verdict in FAILED:
            limits.charge(client, f"item:{item_id}")  # before the write: refused, nothing kept
        # Then one short write: the compare-and-set first (it takes the write lock on
        # SQLite, the row lock on PostgreSQL), then the scan row, committed together.
        # (PostgreSQL reads committed rows per statement: the read's transaction
        # going on into the write changes nothing the compare-and-set relies on.)
        if group is None:
            own.enter_context(write_gate(db)(wait=wait))
        else:
            group.wrote()
        try:
            if judgement.last_seen is not None and read_tag is not None and item_tag is not None:
                moved = _CAS.execute(
                    conn,
                    dialect,
                    {
                        "tag": read_tag.id,
                        "ctr": judgement.last_seen.counter,
                        "at": now,
                        "lat": None if place is None else place.latitude,
                        "lon": None if place is None else place.longitude,
                    },
                )
                if moved != 1:
                    verdict = Verdict.REPLAY.value
                    reason = (
                        f"counter {judgement.last_seen.counter} was accepted for another scan "
                        "at the same moment: this URL was used twice"
                    )
                    status = None
            if status in (STOLEN, LOST):
                verdict = status
                reason = f"the tag is genuine, but this item was reported {status} by its owner"
            row = {
                "item_id": item_id,
                "uid": None if reading is None else reading.uid.hex().upper(),
                "counter": None if reading is None else reading.counter,
                "reason": reason,
                "scanned_at": now,
                "latitude": None if place is None else place.latitude,
                "longitude": None if place is None else place.longitude,
                "read_point_id": read_point,
            }
            if verdict == Verdict.NOT_AUTHENTIC.value:
                rejected.record(conn, dialect, row)  # proves nothing: not for the log
            else:
                row["tag_id"] = None if read_tag is None else read_tag.id
                row["verdict"] = verdict
                _RECORD.execute(conn, dialect, row)
        except BaseException as error:
            if group is not None:
                group.spoil()  # its first statements may stand: the group must not commit
            if isinstance(error, dialect.loaded_dbapi.Error):
                raise Unavailable(
                    f"the scan could not be recorded ({type(error).__name__}); nothing of it "
                    "was kept: scan again"
                ) from error
            raise
        if group is None:
            conn.commit()
    return ScanResult(
        verdict=verdict,
        reason=reason,
        item_id=item_id,
        gtin=link.gtin,
        serial=link.serial,
        uid=None if reading is None else reading.uid.hex().upper(),
        counter=None if reading is None else reading.counter,
        scanned_at=now,
        distance_km=judgement.distance_km,
        speed_kmh=judgement.speed_kmh,
        ownership=owned,
    )


# Built once: the hot path only binds values (SQLAlchemy's compiled cache does the rest).
@dataclass(frozen=True)
class TagState:
    """A tag's anti-replay state as the scan read it (``nfc_tag`` without timestamps)."""

    id: int
    uid: str
    item_id: int
    counter: int
    last_seen_at: datetime | None
    last_latitude: float | None
    last_longitude: float | None


_TAG_COLUMNS = (
    NfcTagRow.id,
    NfcTagRow.uid,
    NfcTagRow.item_id,
    NfcTagRow.counter,
    NfcTagRow.last_seen_at,
    NfcTagRow.last_latitude,
    NfcTagRow.last_longitude,
)
# The item, its tag, the owner's lost/stolen report and the ownership periods in
# one statement (one row per period, at least one row).
_ITEM = Statement(
    select(
        ItemRow.id,
        ItemRow.lot,
        PassportItemRow.status,
        PassportItemRow.item_id,
        OwnershipRow.since,
        OwnershipRow.until,
        *_TAG_COLUMNS,
    )
    .select_from(ItemRow)
    .join(ProductRow, ProductRow.id == ItemRow.product_id)
    .outerjoin(NfcTagRow, NfcTagRow.item_id == ItemRow.id)
    .outerjoin(PassportItemRow, PassportItemRow.item_id == ItemRow.id)
    .outerjoin(OwnershipRow, OwnershipRow.item_id == ItemRow.id)
    .where(ProductRow.gtin == bindparam("gtin"), ItemRow.serial == bindparam("serial"))
    .order_by(OwnershipRow.since, OwnershipRow.id)
)
_TAG_OF_UID = Statement(select(*_TAG_COLUMNS).where(NfcTagRow.uid == bindparam("uid")))
_READ_POINT = Statement(
    select(ReadPointRow.latitude, ReadPointRow.longitude).where(ReadPointRow.id == bindparam("id"))
)
_SCAN_COLUMNS = (
    "item_id",
    "tag_id",
    "uid",
    "counter",
    "verdict",
    "reason",
    "scanned_at",
    "latitude",
    "longitude",
    "read_point_id",
)
_RECORD = Statement(insert(TagScanRow).values({name: bindparam(name) for name in _SCAN_COLUMNS}))
_CAS = Statement(
    update(NfcTagRow)
    .where(NfcTagRow.id == bindparam("tag"), NfcTagRow.counter < bindparam("ctr"))
    .values(
        counter=bindparam("ctr"),
        last_seen_at=bindparam("at"),
        last_latitude=bindparam("lat"),
        last_longitude=bindparam("lon"),
    )
)


def _item_state(
    conn: Any, dialect: Dialect, link: DigitalLink
) -> tuple[int, TagState | None, str | None, Owned]:
    """The item's id, its tag (None: no tag), its lost/stolen report and ownership, or NotFound.

    Ownership is (has a packaging secret, report, periods as (since, until)).
    """
    rows = _ITEM.rows(conn, dialect, {"gtin": link.gtin, "serial": link.serial})
    found = rows[0] if rows else None
    if found is None or (link.lot is not None and found[1] != link.lot):
        raise NotFound(
            f"no item with serial {link.serial!r}"
            + (f" in lot {link.lot!r}" if link.lot else "")
            + f" of GTIN {link.gtin}",
            field="serial",
            value=link.serial,
        )
    tag = None if found[6] is None else TagState(*list(found)[6:])
    periods = tuple((row[4], row[5]) for row in rows if row[4] is not None)
    return int(found[0]), tag, found[2], Owned(found[3] is not None, found[2], periods)


def _last_seen(tag: TagState | None) -> LastSeen | None:
    if tag is None or tag.counter == NEVER_READ or tag.last_seen_at is None:
        return None
    at = tag.last_seen_at
    place = None
    if tag.last_latitude is not None and tag.last_longitude is not None:
        place = GeoPoint(tag.last_latitude, tag.last_longitude)
    return LastSeen(counter=tag.counter, at=at, place=place)


# --- recording verdicts as EPCIS events -------------------------------------------------------


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


def publish_pending(
    db: Database, operator: str, *, limit: int = PUBLISH_BATCH, wait: bool = True
) -> int:
    """Capture up to ``limit`` unrecorded verdicts as EPCIS events; how many were.

    With ``wait=False`` a busy write gate raises ``GateBusy`` before anything is written.
    """
    # Plain statements on one pooled connection (``mics.storage.statements``): with the ORM
    # these two cost a one-verdict publish ~2 ms of its ~5 on the bench machine.
    dialect = db.engine.dialect
    with dbapi_connection(db.engine) as conn:
        rows = [PendingScan(*row) for row in _PENDING.rows(conn, dialect, {"limit": limit})]
    if not rows:
        return 0
    events = [verdict_event(scan) for scan in rows]
    marks = [{"scan": row.id, "event": e["eventID"]} for row, e in zip(rows, events, strict=True)]

    def mark(connection: Connection) -> None:
        _MARK.execute_many(connection.connection, dialect, marks)

    # Captured and marked in one transaction. Their eventIDs (uuid5 of the scan) also
    # make a second publisher that read the same rows meanwhile store nothing twice.
    capture_events(db, events, CONTEXT, operator, wait=wait, built=True, then=mark)
    return len(rows)


_PENDING = Statement(
    select(
        TagScanRow.id,
        TagScanRow.verdict,
        TagScanRow.reason,
        TagScanRow.scanned_at,
        TagScanRow.latitude,
        TagScanRow.longitude,
        TagScanRow.counter,
        ProductRow.gtin,
        ItemRow.serial,
        ReadPointRow.gln,
    )
    .join(ItemRow, ItemRow.id == TagScanRow.item_id)
    .join(ProductRow, ProductRow.id == ItemRow.product_id)
    .outerjoin(ReadPointRow, ReadPointRow.id == TagScanRow.read_point_id)
    .where(TagScanRow.event_id.is_(None))
    .order_by(TagScanRow.id)
    .limit(bindparam("limit", type_=Integer))
)
_MARK = Statement(
    update(TagScanRow).where(TagScanRow.id == bindparam("scan")).values(event_id=bindparam("event"))
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
        """Hold the publishers' file lock; yields False when busy and ``wait`` is False."""
        if self.lock_file is None:
            yield True
            return
        self.lock_file.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_file.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
