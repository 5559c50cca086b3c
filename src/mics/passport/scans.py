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
for the first row lock, then re-reads the row and matches nothing). On PostgreSQL
that UPDATE and the scan row's INSERT are one statement (a data-modifying WITH), so
a scan is two round trips: its read and its write. The verdict recorded is
``authenticity.recorded_verdict``'s: every verdict rule lives in ``authenticity``.

The verdict is then published as an EPCIS event by :mod:`mics.passport.verdict_events`
(an outbox). A ``not_authentic`` scan proves nothing about the item (anyone can make
one up) and stays out of the log: it is recorded in ``passport.rejected``, bounded per
item. With ``limits`` (the API's), failed scans are rationed per client and per tag
(``passport.scan_limits``): a scan over either budget is refused (429) before
anything is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, exists, insert, select, update
from sqlalchemy.engine import Dialect

from mics.db import Database
from mics.errors import InvalidInput, NotFound, Unavailable, VerificationError
from mics.passport import rejected
from mics.passport.authenticity import (
    LOST,
    STOLEN,
    GeoPoint,
    LastSeen,
    Verdict,
    judge_tag_scan,
    recorded_verdict,
)
from mics.passport.digital_link import DigitalLink
from mics.passport.scan_limits import ScanLimiter
from mics.passport.store import (
    NEVER_READ,
    NfcTagRow,
    OwnershipRow,
    PassportItemRow,
    ReadPointRow,
    TagScanRow,
)
from mics.passport.sun import SunMasterKey, SunReading, parse_sun_params, verify_sun
from mics.registry.reads import item_keys
from mics.storage.scan_group import scan_unit
from mics.storage.statements import Statement

__all__ = ["FAILED", "LOST", "STOLEN", "Owned", "ScanResult", "TagState", "verify_scan"]
# What anyone can produce without the tag in hand: a made-up or another tag's SUN
# message (not_authentic), a URL read before (replay). Rationed by ``limits``.
FAILED = frozenset({Verdict.NOT_AUTHENTIC.value, Verdict.REPLAY.value})
_log = logging.getLogger(__name__)


class Owned(NamedTuple):
    """An item's ownership as a scan reads it (``volatile.ownership_of`` takes it)."""

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
    limits: ScanLimiter | None = None,
    client: str | None = None,
) -> ScanResult:
    """Verify, judge and record one scan of the item ``link`` names.

    Malformed ``e``/``c`` and unknown items raise (InvalidInput, NotFound): there
    is nothing to judge. Everything else yields a verdict, recorded, in the
    transaction ``storage.scan_group.scan_unit`` gives: the scan's own, committed
    before this returns, or (inside ``scan_group.member_of``, on the server's event
    loop) its group's, whose commit the caller awaits before answering.
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
    uid = None if reading is None else reading.uid.hex().upper()
    # The scan's statements run on the driver's own cursor (``mics.storage.statements``:
    # SQLAlchemy's execution machinery was most of a scan). First one short read: the
    # item, its tag, the tag that was read, the read point and the owner's report.
    dialect = db.engine.dialect
    with scan_unit(db) as unit:
        conn = unit.connection
        item_id, item_tag, report, owned = _item_state(conn, dialect, link)
        read_tag = None
        if uid is not None:
            read_tag = item_tag if item_tag is not None and item_tag.uid == uid else None
            if read_tag is None:
                other = _TAG_OF_UID.rows(conn, dialect, {"uid": uid})
                read_tag = TagState(*other[0]) if other else None
        if read_point is not None:
            point = _READ_POINT.rows(conn, dialect, {"id": read_point})
            if not point:
                raise NotFound(f"no read point {read_point!r}", field="rp", value=read_point)
            place = GeoPoint(*point[0])
        judgement = judge_tag_scan(
            reading,
            failure,
            None if item_tag is None else item_tag.uid,
            None if read_tag is None else read_tag.uid,
            _last_seen(read_tag),
            now,
            place,
        )
        verdict, reason = recorded_verdict(judgement, report)
        if limits is not None and verdict in FAILED:
            limits.charge(client, f"item:{item_id}")  # before the write: refused, nothing kept
        row = {
            "item_id": item_id,
            "uid": uid,
            "counter": None if reading is None else reading.counter,
            "reason": reason,
            "scanned_at": now,
            "latitude": None if place is None else place.latitude,
            "longitude": None if place is None else place.longitude,
            "read_point_id": read_point,
        }
        # Then one short write: the counter's compare-and-set (it takes the write lock on
        # SQLite, the row lock on PostgreSQL) and the scan row, committed together.
        # (PostgreSQL reads committed rows per statement: the read's transaction
        # going on into the write changes nothing the compare-and-set relies on.)
        unit.write()
        try:
            if verdict == Verdict.NOT_AUTHENTIC.value:
                rejected.record(conn, dialect, row)  # proves nothing: not for the log
            else:
                row |= {"tag_id": None if read_tag is None else read_tag.id, "verdict": verdict}
                if judgement.last_seen is None:
                    _RECORD.execute(conn, dialect, row)
                else:
                    lost = recorded_verdict(judgement, report, won=False)
                    if not _advance_and_record(conn, dialect, row, lost):
                        verdict, reason = lost
        except dialect.loaded_dbapi.Error as error:
            raise Unavailable(
                f"the scan could not be recorded ({type(error).__name__}); nothing of it "
                "was kept: scan again"
            ) from error
    return ScanResult(
        verdict=verdict,
        reason=reason,
        item_id=item_id,
        gtin=link.gtin,
        serial=link.serial,
        uid=uid,
        counter=None if reading is None else reading.counter,
        scanned_at=now,
        distance_km=judgement.distance_km,
        speed_kmh=judgement.speed_kmh,
        ownership=owned,
    )


def _advance_and_record(
    conn: Any, dialect: Dialect, row: dict[str, Any], lost: tuple[str, str]
) -> bool:
    """Move the tag's counter forward to the scan's and record the scan; whether it moved.

    When another scan stored this counter (or a higher one) first, the scan is
    recorded with the ``lost`` verdict and reason instead. On PostgreSQL both in one
    statement, one round trip (``_ADVANCE_AND_RECORD``); on SQLite (no UPDATE in a
    WITH) two statements on the file.
    """
    if dialect.name == "postgresql":
        params = row | {"lost_verdict": lost[0], "lost_reason": lost[1]}
        return bool(_ADVANCE_AND_RECORD.rows(conn, dialect, params)[0][0])
    moved = _ADVANCE.execute(conn, dialect, row) == 1
    _RECORD.execute(conn, dialect, row if moved else row | dict(zip(_VERDICT, lost, strict=True)))
    return moved


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


class _ItemRead(NamedTuple):
    """One row of ``_ITEM``, by name: the item, its report, one ownership period, its tag."""

    item_id: int
    lot: str | None
    status: str | None  # the owner's lost/stolen report
    secret_of: int | None  # not None: the item has a packaging secret
    since: datetime | None  # one ownership period (None: none yet)
    until: datetime | None
    tag_id: int | None  # None: the item has no tag
    uid: str | None
    tag_item: int | None
    counter: int | None
    last_seen_at: datetime | None
    last_latitude: float | None
    last_longitude: float | None

    def tag(self) -> TagState | None:
        if self.tag_id is None:
            return None
        return TagState(
            id=self.tag_id,
            uid=str(self.uid),
            item_id=int(self.tag_item or 0),
            counter=int(self.counter or 0),
            last_seen_at=self.last_seen_at,
            last_latitude=self.last_latitude,
            last_longitude=self.last_longitude,
        )


# The item, its tag, the owner's lost/stolen report and the ownership periods in
# one statement (one row per period, at least one row).
_KEYS = item_keys()
_ITEM = Statement(
    select(
        _KEYS.id,
        _KEYS.lot,
        PassportItemRow.status,
        PassportItemRow.item_id,
        OwnershipRow.since,
        OwnershipRow.until,
        *_TAG_COLUMNS,
    )
    .select_from(_KEYS.source)
    .outerjoin(NfcTagRow, NfcTagRow.item_id == _KEYS.id)
    .outerjoin(PassportItemRow, PassportItemRow.item_id == _KEYS.id)
    .outerjoin(OwnershipRow, OwnershipRow.item_id == _KEYS.id)
    .where(_KEYS.gtin == bindparam("gtin"), _KEYS.serial == bindparam("serial"))
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
_VERDICT = ("verdict", "reason")
# The compare-and-set, bound by the scan row's names: the counter moves forward only.
_ADVANCE_UPDATE = (
    update(NfcTagRow)
    .where(NfcTagRow.id == bindparam("tag_id"), NfcTagRow.counter < bindparam("counter"))
    .values(
        counter=bindparam("counter"),
        last_seen_at=bindparam("scanned_at"),
        last_latitude=bindparam("latitude"),
        last_longitude=bindparam("longitude"),
    )
)
_ADVANCE = Statement(_ADVANCE_UPDATE)
# PostgreSQL: the compare-and-set and the scan row in one statement. The UPDATE in the
# WITH waits for a concurrent scan's row lock like the plain one, then re-reads the row
# (READ COMMITTED) and matches nothing if that scan stored the counter: the row
# inserted says ``lost_verdict`` then, and RETURNING says whether the counter moved.
_MOVED = _ADVANCE_UPDATE.returning(NfcTagRow.id).cte("moved")
_WON = exists(select(_MOVED.c.id))
_SCAN_TABLE = TagScanRow.__table__


def _bound(column: str, name: str | None = None) -> Any:
    """A typed parameter for ``column`` (PostgreSQL types an INSERT's SELECT by its casts)."""
    return bindparam(name or column, type_=_SCAN_TABLE.c[column].type)


_ADVANCE_AND_RECORD = Statement(
    insert(TagScanRow)
    .from_select(
        list(_SCAN_COLUMNS),
        select(
            *(
                case((_WON, _bound(name)), else_=_bound(name, f"lost_{name}"))
                if name in _VERDICT
                else _bound(name)
                for name in _SCAN_COLUMNS
            )
        ),
    )
    .add_cte(_MOVED)
    .returning(_WON.label("won"))
)


def _item_state(
    conn: Any, dialect: Dialect, link: DigitalLink
) -> tuple[int, TagState | None, str | None, Owned]:
    """The item's id, its tag (None: no tag), its lost/stolen report and ownership, or NotFound.

    Ownership is (has a packaging secret, report, periods as (since, until)).
    """
    rows = [
        _ItemRead(*row)
        for row in _ITEM.rows(conn, dialect, {"gtin": link.gtin, "serial": link.serial})
    ]
    found = rows[0] if rows else None
    if found is None or (link.lot is not None and found.lot != link.lot):
        raise NotFound(
            f"no item with serial {link.serial!r}"
            + (f" in lot {link.lot!r}" if link.lot else "")
            + f" of GTIN {link.gtin}",
            field="serial",
            value=link.serial,
        )
    periods = tuple((row.since, row.until) for row in rows if row.since is not None)
    owned = Owned(found.secret_of is not None, found.status, periods)
    return int(found.item_id), found.tag(), found.status, owned


def _last_seen(tag: TagState | None) -> LastSeen | None:
    if tag is None or tag.counter == NEVER_READ or tag.last_seen_at is None:
        return None
    at = tag.last_seen_at
    place = None
    if tag.last_latitude is not None and tag.last_longitude is not None:
        place = GeoPoint(tag.last_latitude, tag.last_longitude)
    return LastSeen(counter=tag.counter, at=at, place=place)
