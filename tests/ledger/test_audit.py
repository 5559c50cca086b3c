"""The audit catches every kind of tampering done behind the log's back, with plain SQL.

Runs on SQLite and PostgreSQL (the ``db`` fixture). The ``logged`` log holds 16
events (leaves 0-15) in three captures, with checkpoints at sizes 5, 12 and 16.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from mics.db import Database
from mics.errors import TamperDetected
from mics.ledger.leaf import leaf_data, parse_leaf_data
from mics.ledger.store import log
from mics.registry.demo import ensure_instance
from mics.trace.audit import audit

from .conftest import CONTEXT, OPERATOR, Logged


def _sql(db: Database, statement: str, **params: Any) -> Any:
    with db.transaction() as s:
        return s.execute(text(statement), params)


def _event(db: Database, leaf: int) -> tuple[int, str, str]:
    with db.read() as s:
        row = s.execute(
            text(
                "SELECT e.id, e.event_id, e.body FROM epcis_event e "
                "JOIN ledger_leaf l ON l.event = e.id WHERE l.idx = :i"
            ),
            {"i": leaf},
        ).one()
    return row[0], row[1], row[2]


def test_untouched_log_audits_clean(logged: Logged) -> None:
    report = audit(logged.db, logged.signer.verifier)
    assert report.ok
    assert (report.tree_size, report.events, report.checkpoints) == (16, 16, 3)
    assert report.raise_for_tamper() is report


def test_modified_event_body_is_named(logged: Logged) -> None:
    pk, event_id, body = _event(logged.db, 7)
    changed = json.loads(body) | {"bizStep": "shipping"}
    _sql(logged.db, "UPDATE epcis_event SET body = :b WHERE id = :id", b=json.dumps(changed), id=pk)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.leaf_index, found.event_id) == ("modified", 7, event_id)
    with pytest.raises(TamperDetected, match=re.escape(f"modified: event {event_id} (leaf 7)")):
        audit(logged.db, logged.signer.verifier).raise_for_tamper()


def test_modified_record_time_is_caught(logged: Logged) -> None:
    pk, event_id, _ = _event(logged.db, 2)
    _sql(
        logged.db,
        "UPDATE epcis_event SET partner_id = 'mics-operator', record_time = "
        "record_time WHERE id = :id",
        id=pk,
    )  # a no-op: still clean
    assert audit(logged.db, logged.signer.verifier).ok
    with logged.db.read() as s:
        old = s.execute(text("SELECT data FROM ledger_leaf WHERE idx = 2")).scalar_one()
    later = parse_leaf_data(old).record_time.replace(year=2020)
    _sql(logged.db, "UPDATE epcis_event SET record_time = :t WHERE id = :id", t=later, id=pk)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.event_id) == ("modified", event_id)


def test_deleted_event_is_named(logged: Logged) -> None:
    pk, _, _ = _event(logged.db, 9)
    for table, column in (
        ("epcis_event_epc", "event"),
        ("epcis_event_biztx", "event"),
        ("ledger_leaf", "event"),
        ("epcis_event", "id"),
    ):
        _sql(logged.db, f"DELETE FROM {table} WHERE {column} = :id", id=pk)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.leaf_index) == ("deleted", 9)
    assert "log committed to leaf hash" in found.detail


def test_inserted_event_row_is_named(logged: Logged) -> None:
    columns = (
        "event_hash, event_type, event_time, record_time, action, biz_step, disposition, "
        "read_point, biz_location, partner_id, capture_id, body"
    )
    _sql(
        logged.db,
        f"INSERT INTO epcis_event (id, event_id, {columns}) "
        f"SELECT 100, 'urn:uuid:forged', {columns} FROM epcis_event WHERE id = 3",
    )
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.event_id, found.leaf_index) == ("inserted", "urn:uuid:forged", None)


def test_two_reordered_events_are_named(logged: Logged) -> None:
    a, b = _event(logged.db, 6), _event(logged.db, 8)
    _sql(logged.db, "UPDATE epcis_event SET event_id = 'tmp' WHERE id = :id", id=a[0])
    for (pk, _, _), (_, event_id, body) in ((b, a), (a, b)):
        _sql(
            logged.db,
            "UPDATE epcis_event SET body = :body, event_id = :e WHERE id = :id",
            body=body,
            e=event_id,
            id=pk,
        )
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.leaf_index, found.event_id) == ("reordered", 6, b[1])
    assert "was logged at leaf 8" in found.detail


def test_modified_leaf_row_is_named(logged: Logged) -> None:
    with logged.db.read() as s:
        old = s.execute(text("SELECT data FROM ledger_leaf WHERE idx = 4")).scalar_one()
    leaf = parse_leaf_data(old)
    forged = leaf_data(leaf.event_hash, leaf.record_time.replace(year=2025), leaf.partner)
    _sql(logged.db, "UPDATE ledger_leaf SET data = :d WHERE idx = 4", d=forged)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.leaf_index) == ("leaf", 4)


def test_modified_node_row_is_named(logged: Logged) -> None:
    _sql(logged.db, "UPDATE ledger_node SET hash = :h WHERE level = 2 AND idx = 1", h=bytes(32))
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert found.kind == "node"
    assert found.leaf_index == 7  # node (2, 1) covers leaves 4-7 and is completed by leaf 7
    assert "level 2 index 1" in found.detail


def test_log_rewritten_with_a_modified_event_misses_the_signed_root(logged: Logged) -> None:
    """The tamperer edits an event and rebuilds leaves and nodes: only checkpoints catch it."""
    pk, _, body = _event(logged.db, 1)
    _sql(
        logged.db,
        "UPDATE epcis_event SET body = :b, action = 'DELETE' WHERE id = :id",
        b=json.dumps(json.loads(body) | {"action": "DELETE"}),
        id=pk,
    )
    with logged.db.read() as s:
        rows = s.execute(
            text(
                "SELECT l.event, e.body, l.data FROM ledger_leaf l "
                "JOIN epcis_event e ON e.id = l.event ORDER BY l.idx"
            )
        ).all()
    from mics.trace.event_hash import event_hash

    entries = []
    for event_pk, event_body, data in rows:
        leaf = parse_leaf_data(data)
        digest = event_hash(json.loads(event_body), CONTEXT)
        entries.append((event_pk, leaf_data(digest, leaf.record_time, leaf.partner)))
    with logged.db.transaction() as s:
        s.execute(text("DELETE FROM ledger_leaf"))
        s.execute(text("DELETE FROM ledger_node"))
        s.execute(text("UPDATE ledger_head SET size = 0"))
        log.append(s, entries)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert found.kind == "modified"
    assert "checkpoint signed" in found.detail
    assert "first 5 leaves" in found.detail


def test_altered_checkpoint_row_is_named(logged: Logged) -> None:
    _sql(logged.db, "UPDATE ledger_checkpoint SET root = :r WHERE size = 12", r=bytes(32))
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert found.kind == "checkpoint"
    assert "checkpoint row 12" in found.detail


def test_audit_reads_in_chunks_smaller_than_the_log(logged: Logged) -> None:
    assert audit(logged.db, logged.signer.verifier, chunk=3).ok
    pk, _event_id, body = _event(logged.db, 13)
    _sql(
        logged.db,
        "UPDATE epcis_event SET body = :b WHERE id = :id",
        b=body.replace('"B13"', '"B99"'),
        id=pk,
    )
    found = audit(logged.db, logged.signer.verifier, chunk=3).finding
    assert found is not None
    assert (found.kind, found.leaf_index) == ("modified", 13)


CRASHING_CAPTURE = """
import sys
from mics.db import Database
from mics.trace.capture import capture_events
sys.path.insert(0, sys.argv[2])
from conftest import CONTEXT, object_event

db = Database.from_url(sys.argv[1])

def document(number):
    for i in range(2500):
        if number == 2 and i == 2200:  # 2000 events already written in this transaction
            print("mid-document", flush=True)
        yield object_event(number * 2500 + i)

for number in range(10):
    capture_events(db, document(number), CONTEXT, "mics-operator")
    print("captured", number, flush=True)
"""


def test_capture_killed_mid_document_audits_clean(
    sqlite_db: Database, tmp_path: Path, capture: Callable[[Database, int, int], None]
) -> None:
    ensure_instance(sqlite_db, OPERATOR)
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    lines = []
    with subprocess.Popen(
        [sys.executable, "-c", CRASHING_CAPTURE, url, str(Path(__file__).parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        for line in child.stdout:
            lines.append(line.strip())
            if line.startswith("mid-document"):
                os.kill(child.pid, signal.SIGKILL)
                break
        child.wait(timeout=60)
        errors = child.stderr.read()
    assert child.returncode == -signal.SIGKILL, errors
    assert lines == ["captured 0", "captured 1", "mid-document"]
    sqlite_db.dispose()  # reopen, as a restarted server would
    from mics.ledger.note import Signer

    signer = Signer.generate("mics.example/test")
    log.checkpoint(sqlite_db, signer, "mics.example/test")
    report = audit(sqlite_db, signer.verifier)
    assert report.ok, report.finding
    assert (report.events, report.tree_size) == (5000, 5000)
    with sqlite_db.read() as s:
        assert s.execute(text("SELECT count(*) FROM epcis_event")).scalar_one() == 5000
    capture(sqlite_db, 90_000, 3)  # the log resumes where the committed captures ended
    log.checkpoint(sqlite_db, signer, "mics.example/test")
    assert audit(sqlite_db, signer.verifier).tree_size == 5003


def test_concurrent_checkpoint_requests_sign_a_size_once(tmp_path: Path) -> None:
    import threading

    from mics.ledger.note import Signer

    db = Database.from_url(f"sqlite:///{tmp_path / 'cp.db'}")
    db.upgrade()
    signer = Signer.generate("mics.example/race")
    notes: list[str] = []
    errors: list[BaseException] = []

    def sign() -> None:
        try:
            notes.append(log.checkpoint(db, signer, "mics.example/race").note)
        except BaseException as error:  # the race used to raise IntegrityError
            errors.append(error)

    threads = [threading.Thread(target=sign) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(notes)) == 1


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE epcis_event SET biz_step = 'receiving' WHERE id = :id", "column biz_step"),
        (
            "UPDATE epcis_event SET event_time = '2020-01-01 00:00:00.000000' WHERE id = :id",
            "column event_time",
        ),
        ("DELETE FROM epcis_event_epc WHERE event = :id", "identifier index"),
    ],
)
def test_query_columns_changed_behind_the_log_are_caught(
    logged: Logged, statement: str, says: str
) -> None:
    pk, _, _ = _event(logged.db, 2)
    if "event_time" in statement and logged.db.engine.dialect.name != "sqlite":
        statement = statement.replace("'2020-01-01 00:00:00.000000'", "'2020-01-01T00:00:00Z'")
    _sql(logged.db, statement, id=pk)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    assert (found.kind, found.leaf_index) == ("modified", 2)
    assert says in found.detail


# --- corrupted rows: every wrong type, length or value is a finding, never a traceback ------
# (statement, kind, leaf index, what the detail names). SQLite keeps any value in any column,
# PostgreSQL casts or refuses: each case runs where the database lets the corruption in.

SQLITE_ONLY = "sqlite"
CORRUPTIONS = [
    pytest.param(
        "UPDATE ledger_leaf SET data = 'not bytes' WHERE idx = 3",
        ("leaf", 3, "ledger_leaf row 3: column data holds TEXT 'not bytes'"),
        SQLITE_ONLY,
        id="leaf-as-text",
    ),
    pytest.param(
        "UPDATE ledger_leaf SET data = :short WHERE idx = 3",
        ("leaf", 3, "ledger_leaf row 3: column data holds 5 bytes that are not a mics-leaf/v1"),
        None,
        id="leaf-wrong-length",
    ),
    pytest.param(
        "UPDATE ledger_node SET hash = :short WHERE level = 1 AND idx = 2",
        ("node", 5, "ledger_node row (1, 2): column hash holds 5 bytes, expected 32 bytes"),
        None,
        id="node-wrong-length",
    ),
    pytest.param(
        "UPDATE ledger_node SET hash = 42 WHERE level = 0 AND idx = 6",
        ("node", 6, "ledger_node row (0, 6): column hash holds INTEGER 42"),
        SQLITE_ONLY,
        id="node-as-integer",
    ),
    pytest.param(
        "UPDATE ledger_checkpoint SET root = :short WHERE size = 12",
        ("checkpoint", None, "ledger_checkpoint row 12: column root holds 5 bytes"),
        None,
        id="checkpoint-root-wrong-length",
    ),
    pytest.param(
        "UPDATE ledger_checkpoint SET root = 'abc' WHERE size = 5",
        ("checkpoint", None, "ledger_checkpoint row 5: column root holds TEXT 'abc'"),
        SQLITE_ONLY,
        id="checkpoint-root-as-text",
    ),
    pytest.param(
        "UPDATE ledger_head SET size = 'sixteen'",
        ("head", None, "ledger_head row 1: column size holds TEXT 'sixteen'"),
        SQLITE_ONLY,
        id="head-as-text",
    ),
    pytest.param(
        "UPDATE epcis_event SET record_time = 'yesterday' WHERE id = :event",
        ("modified", 4, "column record_time holds TEXT 'yesterday'"),
        SQLITE_ONLY,
        id="record-time-as-text",
    ),
    pytest.param(
        "UPDATE epcis_event SET event_time = 12345 WHERE id = :event",
        ("modified", 4, "column event_time holds INTEGER 12345"),
        SQLITE_ONLY,
        id="event-time-as-integer",
    ),
    pytest.param(
        "UPDATE epcis_event SET body = '[1, 2]' WHERE id = :event",
        ("modified", 4, "column body holds '[1, 2]', expected a JSON object"),
        None,
        id="body-not-an-object",
    ),
    pytest.param(
        "UPDATE epcis_event SET body = :deep WHERE id = :event",
        ("modified", 4, "column body holds"),
        None,
        id="body-nested-too-deep",
    ),
    pytest.param(
        "UPDATE epcis_event SET biz_step = NULL WHERE id = :event",
        ("modified", 4, "column biz_step of event row"),
        None,
        id="biz-step-null",
    ),
    pytest.param(
        "UPDATE capture_job SET context = '{not json' "
        "WHERE id = (SELECT capture_id FROM epcis_event WHERE id = :event)",
        ("modified", 0, "column context holds TEXT '{not json'"),
        SQLITE_ONLY,  # PostgreSQL's json type refuses it
        id="context-not-json",
    ),
]


@pytest.mark.parametrize(("statement", "expected", "only"), CORRUPTIONS)
def test_corrupted_row_is_named_not_a_traceback(
    logged: Logged, statement: str, expected: tuple[str, int | None, str], only: str | None
) -> None:
    dialect = logged.db.engine.dialect.name
    if only is not None and dialect != only:
        pytest.skip(f"{dialect} does not let this corruption in")
    pk, _, _ = _event(logged.db, 4)
    params = {"short": b"\x01\x02\x03\x04\x05", "event": pk, "deep": "[" * 100_000}
    used = {name: value for name, value in params.items() if f":{name}" in statement}
    _sql(logged.db, statement, **used)
    found = audit(logged.db, logged.signer.verifier).finding
    assert found is not None
    kind, index, says = expected
    assert (found.kind, found.leaf_index) == (kind, index), found.detail
    assert says in found.detail
    with pytest.raises(TamperDetected, match=re.escape(kind)):
        audit(logged.db, logged.signer.verifier).raise_for_tamper()
