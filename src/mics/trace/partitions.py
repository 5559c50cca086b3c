"""On PostgreSQL, ``epcis_event`` is partitioned by record time: one partition a month.

A store of 100 million events keeps each month's indexes small enough to stay in memory
while that month is written, and a query bounded by record time reads only the months it
names. Migration ``0011_schema`` makes the table partitioned (``PARTITION BY RANGE
(record_time)``, primary key ``(id, record_time)``) with a ``DEFAULT`` partition, so that a
row whose month has no partition is still stored; capture creates the month it writes
and the next one ahead (``ensure_months``), each in a short transaction of its own, once
per process and month. SQLite keeps one table.

PostgreSQL enforces a unique index on a partitioned table only when it includes the
partition key, so ``event_id`` has a plain index there: capture finds duplicates itself,
holding the log's lock (``ledger.store.log.lock``), which no two captures hold at once.
No foreign key points into the table (``epcis_event_epc.event`` and
``epcis_event_biztx.event`` are written in the event's own transaction).
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from threading import Lock

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from mics.db import Database

__all__ = ["create_month", "ensure_months", "month_name"]

# the partitions each engine's database is known to have, in this process
_made: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_lock = Lock()


def month_start(moment: datetime, ahead: int = 0) -> datetime:
    """The first instant (UTC) of ``moment``'s month, or of the month ``ahead`` later."""
    moment = moment.astimezone(UTC)
    months = moment.year * 12 + moment.month - 1 + ahead
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def month_name(moment: datetime) -> str:
    """The partition holding ``moment``'s month: ``epcis_event_y2026m12``."""
    start = month_start(moment)
    return f"epcis_event_y{start.year:04d}m{start.month:02d}"


def create_month(connection: Connection, moment: datetime) -> None:
    """Create the partition of ``moment``'s month unless it exists.

    Fails when the ``DEFAULT`` partition already holds rows of that month (they were
    stored before it existed); ``ensure_months`` then leaves them there.
    """
    start, end = month_start(moment), month_start(moment, 1)
    connection.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {month_name(moment)} PARTITION OF epcis_event "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


def ensure_months(db: Database, moment: datetime) -> None:
    """On PostgreSQL, the partitions of ``moment``'s month and the next, once per process."""
    engine = db.engine
    if engine.dialect.name != "postgresql":
        return
    made = _made.get(engine, set())
    missing = [month_start(moment, ahead) for ahead in (0, 1)]
    missing = [month for month in missing if month_name(month) not in made]
    if not missing:
        return
    with _lock:
        made = _made.setdefault(engine, set())
        for month in missing:
            try:
                with engine.begin() as connection:
                    partitioned = connection.scalar(
                        text(
                            "SELECT count(*) FROM pg_partitioned_table p "
                            "JOIN pg_class c ON c.oid = p.partrelid "
                            "WHERE c.relname = 'epcis_event' "
                            "AND pg_table_is_visible(c.oid)"
                        )
                    )
                    if partitioned:
                        create_month(connection, month)
            except DBAPIError:  # rows of that month already in DEFAULT, or a racing creator:
                pass  # the rows are stored all the same, not asked again in this process
            made.add(month_name(month))
