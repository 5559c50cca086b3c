"""``mics.storage.statements``: Core statements on the DBAPI cursor do what the ORM does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, bindparam, func, insert, select, update

from mics.db import Database
from mics.passport.store import NEVER_READ, NfcTagRow
from mics.registry.store import ItemRow, ProductRow
from mics.storage.statements import Statement, dbapi_connection

TAG_STATE = Statement(
    select(NfcTagRow.id, NfcTagRow.counter, NfcTagRow.last_seen_at, NfcTagRow.last_latitude).where(
        NfcTagRow.uid == bindparam("uid")
    )
)
# "ctr" twice: positional drivers (sqlite3's ?) need it bound at both places.
ADVANCE = Statement(
    update(NfcTagRow)
    .where(NfcTagRow.id == bindparam("tag"), NfcTagRow.counter < bindparam("ctr"))
    .values(counter=bindparam("ctr"), last_seen_at=bindparam("at"), last_latitude=bindparam("lat"))
)
ADD_TAG = Statement(
    insert(NfcTagRow).values(
        uid=bindparam("uid"), item_id=bindparam("item"), counter=bindparam("counter")
    )
)


def _item(db: Database, serial: str = "STMT1") -> int:
    """A new item of a demo product, without a tag."""
    with db.transaction() as s:
        item = ItemRow(product_id=s.scalar(select(func.min(ProductRow.id))), serial=serial)
        s.add(item)
        s.flush()
        return item.id


def test_rows_written_on_the_cursor_read_back_through_the_orm(demo_db: Database) -> None:
    db = demo_db
    item = _item(db)
    dialect = db.engine.dialect
    at = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)
    with dbapi_connection(db.engine) as conn:
        assert ADD_TAG.execute(conn, dialect, {"uid": "04AA", "item": item, "counter": -1}) == 1
        (tag_id, counter, seen, lat), *rest = TAG_STATE.rows(conn, dialect, {"uid": "04AA"})
        assert (counter, seen, lat, rest) == (NEVER_READ, None, None, [])
        moved = ADVANCE.execute(conn, dialect, {"tag": tag_id, "ctr": 5, "at": at, "lat": 45.46})
        again = ADVANCE.execute(conn, dialect, {"tag": tag_id, "ctr": 5, "at": at, "lat": 0.0})
        assert (moved, again) == (1, 0)  # the compare-and-set moves a counter once
        conn.commit()
    with db.read() as s:
        row = s.get(NfcTagRow, tag_id)
        assert row is not None
        stored = row.last_seen_at
        assert stored is not None
        stored = stored if stored.tzinfo else stored.replace(tzinfo=UTC)
        assert (row.counter, stored, row.last_latitude) == (5, at, 45.46)
        # the ORM's comparisons on the stored text work: same format as its own writes
        later = s.scalar(select(NfcTagRow.id).where(NfcTagRow.last_seen_at > at - timedelta(1)))
        assert later == tag_id


def test_rows_read_on_the_cursor_are_typed_like_the_orm(demo_db: Database) -> None:
    db = demo_db
    item = _item(db)
    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    with db.transaction() as s:
        s.add(NfcTagRow(uid="04BB", item_id=item, counter=7, last_seen_at=at, last_latitude=1.5))
    with dbapi_connection(db.engine) as conn:
        [(_, counter, seen, lat)] = TAG_STATE.rows(conn, db.engine.dialect, {"uid": "04BB"})
    assert isinstance(seen, datetime)
    assert (counter, seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen, lat) == (7, at, 1.5)


def test_uncommitted_work_is_rolled_back_when_the_connection_returns(demo_db: Database) -> None:
    db = demo_db
    item = _item(db)

    def failing_scan() -> None:
        with dbapi_connection(db.engine) as conn:
            ADD_TAG.execute(conn, db.engine.dialect, {"uid": "04CC", "item": item, "counter": 0})
            raise RuntimeError("the scan failed after its first write")

    with pytest.raises(RuntimeError):
        failing_scan()
    with dbapi_connection(db.engine) as conn:
        ADD_TAG.execute(conn, db.engine.dialect, {"uid": "04DD", "item": item, "counter": 0})
        # never committed either: returned to the pool, rolled back
    with db.read() as s:
        assert s.scalars(select(NfcTagRow.uid).where(NfcTagRow.item_id == item)).all() == []


def test_a_missing_parameter_names_itself(db: Database) -> None:
    with dbapi_connection(db.engine) as conn, pytest.raises(KeyError, match="ctr"):
        ADVANCE.execute(conn, db.engine.dialect, {"tag": 1, "at": None, "lat": None})


def test_values_written_into_the_construct_are_bound_too(demo_db: Database) -> None:
    item = _item(demo_db)
    with demo_db.transaction() as s:
        s.add_all(
            NfcTagRow(uid=f"04E{n}", item_id=item if n == 0 else _item(demo_db, f"S{n}"), counter=n)
            for n in range(3)
        )
    # a literal (counter >= 1) and SQLite's OFFSET after a bound LIMIT carry their own values
    newest = Statement(
        select(NfcTagRow.uid)
        .where(NfcTagRow.uid.startswith("04E"), NfcTagRow.counter >= 1)
        .order_by(NfcTagRow.counter.desc())
        .limit(bindparam("n", type_=Integer))
    )
    with dbapi_connection(demo_db.engine) as conn:
        assert newest.rows(conn, demo_db.engine.dialect, {"n": 1}) == [("04E2",)]
        assert newest.rows(conn, demo_db.engine.dialect, {"n": 5}) == [("04E2",), ("04E1",)]
