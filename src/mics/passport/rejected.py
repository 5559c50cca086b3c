"""Rejected scans: ``not_authentic`` verdicts, kept apart from the log and bounded per item.

A ``not_authentic`` scan proves nothing about the item: anyone can send its URL
with a made-up SUN message (the MAC does not verify), or with a genuine
message of another tag. Each one used to become an EPCIS event in the
transparency log, which anyone could grow at will. Such scans are recorded here
instead: the scanner is still told at once, the brand can still see what was
tried on an item (when, where, which tag was presented), but an item keeps
only its newest ``REJECTED_KEPT``, whatever anyone sends, so the stream is
bounded by the number of items the registry holds.

Scans that do speak for the item (authentic, replay, possible clone, stolen,
lost) stay in ``tag_scan`` and enter the log as before (``passport.scans``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, delete, insert, select

from mics.db import Database
from mics.passport.store import RejectedScanRow
from mics.storage.statements import Statement

__all__ = ["REJECTED_KEPT", "RejectedScan", "record", "rejected_scans"]

# Enough to show a brand the pattern on one item (times, places, the tags presented)
# over weeks of ordinary use; at ~200 bytes a row, 20 kB an item at most.
REJECTED_KEPT = 100


@dataclass(frozen=True)
class RejectedScan:
    """One rejected scan of an item, as recorded."""

    id: int
    item_id: int
    uid: str | None
    counter: int | None
    reason: str
    scanned_at: datetime
    latitude: float | None
    longitude: float | None
    read_point_id: str | None


COLUMNS = (
    "item_id",
    "uid",
    "counter",
    "reason",
    "scanned_at",
    "latitude",
    "longitude",
    "read_point_id",
)
_INSERT = Statement(insert(RejectedScanRow).values({name: bindparam(name) for name in COLUMNS}))
# Everything of the item older than its newest ``kept`` (no row: nothing that old).
_PRUNE = Statement(
    delete(RejectedScanRow).where(
        RejectedScanRow.item_id == bindparam("item"),
        RejectedScanRow.id
        < (
            select(RejectedScanRow.id)
            .where(RejectedScanRow.item_id == bindparam("item"))
            .order_by(RejectedScanRow.id.desc())
            .limit(1)
            .offset(bindparam("skip", type_=Integer))
            .scalar_subquery()
        ),
    )
)


def record(connection: Any, dialect: Any, scan: dict[str, Any]) -> None:
    """Add one rejected scan (``COLUMNS``) and drop the item's beyond ``REJECTED_KEPT``.

    On the caller's DBAPI connection and in its transaction (``passport.scans``).
    """
    _INSERT.execute(connection, dialect, scan)
    _PRUNE.execute(connection, dialect, {"item": scan["item_id"], "skip": REJECTED_KEPT - 1})


def rejected_scans(db: Database, item_id: int) -> tuple[RejectedScan, ...]:
    """The item's rejected scans, newest first (at most ``REJECTED_KEPT``)."""
    with db.read() as session:
        rows = session.scalars(
            select(RejectedScanRow)
            .where(RejectedScanRow.item_id == item_id)
            .order_by(RejectedScanRow.id.desc())
        ).all()
    return tuple(
        RejectedScan(
            r.id,
            r.item_id,
            r.uid,
            r.counter,
            r.reason,
            r.scanned_at,  # aware UTC (mics.db.UtcDateTime)
            r.latitude,
            r.longitude,
            r.read_point_id,
        )
        for r in rows
    )
