"""Migration 0011_schema: events captured on the 0010 schema read back the same after it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect, text
from tests.support import epcis_document

from mics.db import Database, alembic_config
from mics.trace import capture, genealogy, query
from mics.trace.store import EventBizTransactionRow, EventEpcRow

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
ALL = query.Viewer(partner=None)
DL = "https://id.gs1.org"
LOT = f"{DL}/01/08012345000029/10/L1"
BAGS = [f"{DL}/01/08012345000012/21/B{n}" for n in range(3)]
ORDER = "urn:epcglobal:cbv:bt:8012345900022:PO-1"


def _migrate(db: Database, step: str, revision: str) -> None:
    from alembic import command

    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, step)(config, revision)


def _events() -> list[dict[str, Any]]:
    when = {"eventTime": "2026-03-01T10:00:00.000+01:00", "eventTimeZoneOffset": "+01:00"}
    return [
        {
            "type": "TransformationEvent",
            **when,
            "inputQuantityList": [{"epcClass": LOT, "quantity": 3, "uom": "KGM"}],
            "outputEPCList": BAGS,
            "readPoint": {"id": f"{DL}/414/8012345900015"},
        },
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "shipping",
            **when,
            "epcList": BAGS[:2],
            "bizTransactionList": [{"type": "po", "bizTransaction": ORDER}],
        },
    ]


def _reads(db: Database) -> tuple[Any, ...]:
    """What the reads built on the identifier and transaction rows answer."""
    by_epc = query.run(db, {"MATCH_anyEPC": BAGS[0]}, ALL).events
    by_order = query.run(db, {"EQ_bizTransaction_po": ORDER}, ALL).events
    up = genealogy.trace(db, BAGS[2], "upstream", ALL)
    return (
        sorted(e["eventID"] for e in by_epc),
        [e["eventID"] for e in by_order],
        sorted(up.nodes),
        sorted((e["from"], e["to"], e["relation"]) for e in up.edges),
    )


def test_0011_rekeys_identifier_rows_and_keeps_what_reads_answer(repo: Database) -> None:
    _migrate(repo, "downgrade", "0010_custody")
    old_columns = {c["name"] for c in inspect(repo.engine).get_columns("epcis_event_epc")}
    assert "id" in old_columns  # the old schema, with its surrogate key
    captured = capture.capture_document(repo, epcis_document(_events()), "tannery", now=NOW)
    assert captured.captured == 2
    with repo.engine.begin() as connection:  # the old schema stored a repeated transaction twice
        connection.execute(
            text(
                "INSERT INTO epcis_event_biztx (event, type, value) "
                "SELECT event, type, value FROM epcis_event_biztx"
            )
        )
        assert connection.scalar(text("SELECT count(*) FROM epcis_event_biztx")) == 2
    before = _reads(repo)
    assert len(before[0]) == 2
    assert len(before[1]) == 1
    assert LOT in before[2]

    _migrate(repo, "upgrade", "heads")

    schema = inspect(repo.engine)
    for table, key in (
        ("epcis_event_epc", ["event", "epc", "role"]),
        ("epcis_event_biztx", ["type", "value", "event"]),
    ):
        assert "id" not in {c["name"] for c in schema.get_columns(table)}
        assert schema.get_pk_constraint(table)["constrained_columns"] == key
    assert {i["name"] for i in schema.get_indexes("epcis_event_epc")} == {
        "ix_epcis_event_epc_epc_role_event"
    }
    assert _reads(repo) == before
    with repo.read() as s:
        # outputs, input and read point of the first event, the epcList of the second
        assert s.query(EventEpcRow).count() == 3 + 1 + 1 + 2
        assert s.query(EventBizTransactionRow).count() == 1  # the repeat kept once
    again = capture.capture_document(repo, epcis_document(_events()), "tannery", now=NOW)
    assert again.duplicates == 2
    assert again.captured == 0


def test_a_transaction_listed_twice_in_one_event_is_stored_once(repo: Database) -> None:
    event = _events()[1]
    event["bizTransactionList"] = event["bizTransactionList"] * 2
    captured = capture.capture_document(repo, epcis_document([event]), "tannery", now=NOW)
    assert captured.captured == 1
    assert len(query.run(repo, {"EQ_bizTransaction_po": ORDER}, ALL).events) == 1
    with repo.read() as s:
        assert s.query(EventBizTransactionRow).count() == 1


def _partitions(db: Database) -> dict[str, int]:
    """PostgreSQL: each partition of ``epcis_event`` and the events it holds."""
    with db.engine.connect() as connection:
        names = connection.scalars(
            text(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relname = 'epcis_event' AND pg_table_is_visible(p.oid)"
            )
        ).all()
        return {n: int(connection.scalar(text(f"SELECT count(*) FROM {n}")) or 0) for n in names}


def test_postgres_events_go_to_the_partition_of_their_record_month(repo: Database) -> None:
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps one event table (partitions are PostgreSQL's)")
    _migrate(repo, "downgrade", "0010_custody")
    capture.capture_document(repo, epcis_document(_events()[:1]), "tannery", now=NOW)
    _migrate(repo, "upgrade", "heads")  # the stored November event moves to its month
    assert _partitions(repo) == {"epcis_event_default": 0, "epcis_event_y2026m11": 1}
    later = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
    capture.capture_document(repo, epcis_document(_events()[1:]), "tannery", now=later)
    assert _partitions(repo) == {
        "epcis_event_default": 0,
        "epcis_event_y2026m11": 1,
        "epcis_event_y2027m01": 1,
        "epcis_event_y2027m02": 0,  # made ahead
    }
    since = query.run(repo, {"GE_recordTime": "2027-01-01T00:00:00Z"}, ALL).events
    assert [e["type"] for e in since] == ["ObjectEvent"]
