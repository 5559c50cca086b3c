"""The log's append path: one head lock per transaction, the size it read reused, a gapless log."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from mics.db import Database
from mics.ledger import merkle
from mics.ledger.store import log
from mics.registry.demo import ensure_instance

from .conftest import OPERATOR


def _leaves(db: Database) -> list[tuple[int, int, bytes]]:
    with db.read() as s:
        rows = s.execute(text("SELECT idx, event, data FROM ledger_leaf ORDER BY idx")).all()
    return [(int(idx), int(event), bytes(data)) for idx, event, data in rows]


def _stored_size(db: Database) -> int:
    with db.read() as s:
        return log.size(s)


def _append(db: Database, count: int, first_event: int) -> list[int]:
    with db.transaction() as s:
        return log.append(
            s, [(first_event + i, b"leaf %d" % (first_event + i)) for i in range(count)]
        )


def _fake_events(db: Database, count: int) -> None:
    """Leaves need events to name; these stand for them (the log only reads their ids)."""
    ensure_instance(db, OPERATOR)
    with db.transaction() as s:
        s.execute(
            text(
                "INSERT INTO capture_job (id, partner_id, created_at, running, success, "
                "error_behaviour, captured, duplicates, errors) "
                "VALUES ('job', :op, '2026-03-01 10:00:00', false, true, 'rollback', 0, 0, '[]')"
            ),
            {"op": OPERATOR},
        )
        for pk in range(1, count + 1):
            s.execute(
                text(
                    "INSERT INTO epcis_event (id, event_id, event_hash, event_type, event_time, "
                    "record_time, partner_id, capture_id, body) VALUES (:pk, :eid, 'h', "
                    "'ObjectEvent', '2026-03-01 10:00:00', '2026-03-01 10:00:00', :op, 'job', '{}')"
                ),
                {"pk": pk, "eid": f"urn:test:{pk}", "op": OPERATOR},
            )


def test_concurrent_captures_append_one_gapless_log(
    db: Database, capture: Callable[[Database, int, int], None]
) -> None:
    # On PostgreSQL only the head row's FOR UPDATE keeps two captures from taking the
    # same leaf indexes and event ids; on SQLite the write gate queues them.
    ensure_instance(db, OPERATOR)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for k in range(3):
                capture(db, 1000 * n + 10 * k, 5)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    leaves = _leaves(db)
    assert [idx for idx, _, _ in leaves] == list(range(60))
    assert sorted(event for _, event, _ in leaves) == list(range(1, 61))
    assert _stored_size(db) == 60
    with db.read() as s:
        assert log.root(s, 60) == merkle.merkle_tree_hash(
            [merkle.leaf_hash(data) for _, _, data in leaves]
        )


def test_append_after_lock_starts_at_the_size_lock_read(db: Database) -> None:
    _fake_events(db, 7)
    assert _append(db, 3, 1) == [0, 1, 2]
    with db.transaction() as s:
        assert log.lock(s) == 3
        assert log.append(s, [(4, b"d"), (5, b"e")]) == [3, 4]
        assert log.append(s, [(6, b"f")]) == [5]  # from the size the last append left
    assert _stored_size(db) == 6


def test_a_later_transaction_of_the_same_session_reads_the_head_again(db: Database) -> None:
    _fake_events(db, 6)
    with Session(db.engine) as s:
        with s.begin():
            assert log.lock(s) == 0
        _append(db, 2, 1)  # another writer moves the head in between
        with s.begin():
            assert log.append(s, [(3, b"c")]) == [2]
    assert _stored_size(db) == 3


def test_append_after_a_rolled_back_savepoint_starts_at_the_stored_size(db: Database) -> None:
    _fake_events(db, 6)
    _append(db, 2, 1)
    with db.transaction() as s:
        log.lock(s)
        savepoint = s.begin_nested()
        assert log.append(s, [(3, b"c"), (4, b"d")]) == [2, 3]
        savepoint.rollback()
        assert log.append(s, [(5, b"e")]) == [2]
    assert [(idx, event) for idx, event, _ in _leaves(db)] == [(0, 1), (1, 2), (2, 5)]
    with db.read() as s:
        assert log.root(s, 3) == merkle.merkle_tree_hash(
            [merkle.leaf_hash(data) for _, _, data in _leaves(db)]
        )


def test_a_missing_head_row_is_created_at_size_zero(db: Database) -> None:
    _fake_events(db, 1)
    with db.transaction() as s:
        s.execute(text("DELETE FROM ledger_head"))
    with db.transaction() as s:
        assert log.lock(s) == 0
        assert log.append(s, [(1, b"a")]) == [0]
    assert _stored_size(db) == 1
