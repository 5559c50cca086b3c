"""Migration 0011_schema: events captured on the 0010 schema read back the same after it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

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
