"""Capture through the service functions (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from tests.support import EPCIS_CONTEXT, epcis_document

from mics.db import Database
from mics.errors import InvalidInput
from mics.ledger.store import log
from mics.ledger.store.tables import LeafRow
from mics.storage.write_gate import write_gate
from mics.trace import capture, capture_jobs, query
from mics.trace.event_hash import event_hash
from mics.trace.store import EventRow
from mics.trace.validate import DocumentInvalid

CONTEXT = EPCIS_CONTEXT
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
ALL = query.Viewer(partner=None)


def doc(events: list[dict[str, Any]]) -> dict[str, Any]:
    return epcis_document(events, creationDate="2026-03-01T10:00:00Z")


def observe(serial: str, step: str = "shipping", minute: int = 0) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": step,
        "eventTime": f"2026-03-01T10:{minute:02d}:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/08012345000012/21/{serial}"],
        "readPoint": {"id": "https://id.gs1.org/414/8012345900015"},
    }


def _count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_capture_stores_events_with_hash_ids_and_one_leaf_each(repo: Database) -> None:
    events = [observe("A1"), observe("A2", minute=5)]
    result = capture.capture_document(repo, doc(events), "tannery", now=NOW)
    assert result.captured == 2
    assert result.event_ids == [event_hash(e, CONTEXT) for e in events]
    with repo.read() as s:
        assert log.size(s) == 2
    assert _count(repo, LeafRow) == _count(repo, EventRow) == 2


def test_same_event_twice_is_stored_once(repo: Database) -> None:
    capture.capture_document(repo, doc([observe("A1")]), "tannery", now=NOW)
    again = capture.capture_document(repo, doc([observe("A1"), observe("A1")]), "tannery", now=NOW)
    assert (again.captured, again.duplicates) == (0, 2)
    assert _count(repo, EventRow) == 1


def test_invalid_document_is_rejected_whole_naming_event_and_field(repo: Database) -> None:
    bad = observe("A2")
    bad["bizStep"] = "dancing"
    with pytest.raises(DocumentInvalid) as caught:
        capture.capture_document(repo, doc([observe("A1"), bad]), "tannery", now=NOW)
    assert caught.value.field == "/epcisBody/eventList/1/bizStep"
    assert _count(repo, EventRow) == 0
    assert _count(repo, LeafRow) == 0


def test_proceed_stores_the_valid_events_and_reports_the_rest(repo: Database) -> None:
    bad = observe("A2")
    del bad["eventTime"]
    result = capture.capture_events(
        repo, [observe("A1"), bad], CONTEXT, "tannery", behaviour="proceed", now=NOW
    )
    assert result.captured == 1
    assert [p.event_index for p in result.problems] == [1]
    assert _count(repo, EventRow) == 1


def test_proceed_with_no_valid_event_stores_nothing_and_reports_all(repo: Database) -> None:
    bad = observe("P1")
    del bad["eventTime"]
    result = capture.capture_events(
        repo, [bad, bad], CONTEXT, "tannery", behaviour="proceed", now=NOW
    )
    assert (result.success, result.captured) == (True, 0)
    assert [p.event_index for p in result.problems] == [0, 1]
    assert _count(repo, EventRow) == _count(repo, LeafRow) == 0


def test_reused_event_id_with_other_content_is_rejected(repo: Database) -> None:
    first = observe("A1") | {"eventID": "urn:uuid:7d8b4d0e-7c42-4b4a-9a8c-1c3c2f1b0a11"}
    capture.capture_document(repo, doc([first]), "tannery", now=NOW)
    second = observe("B9") | {"eventID": first["eventID"]}
    with pytest.raises(DocumentInvalid, match="eventID"):
        capture.capture_document(repo, doc([second]), "tannery", now=NOW)


def test_streamed_json_capture_equals_parsed_capture(repo: Database) -> None:
    data = json.dumps(doc([observe(f"S{i}", minute=i % 60) for i in range(50)])).encode()
    result = capture.capture_stream(repo, io.BytesIO(data), "json", "tannery", now=NOW)
    assert result.captured == 50
    page = query.run(repo, {"perPage": "100"}, ALL)
    assert [e["eventID"] for e in page.events] == result.event_ids


def test_malformed_json_stream_is_invalid_input(repo: Database) -> None:
    with pytest.raises(InvalidInput, match="well-formed"):
        capture.capture_stream(repo, io.BytesIO(b'{"@context": [1, '), "json", "tannery")
    assert _count(repo, EventRow) == 0


def test_capture_rejects_more_events_than_the_limit(
    repo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capture, "CAPTURE_LIMIT", 3)
    monkeypatch.setattr(capture, "BATCH", 2)
    events = [copy.deepcopy(observe(f"L{i}", minute=i)) for i in range(5)]
    with pytest.raises(InvalidInput, match="more than 3 events"):
        capture.capture_events(repo, events, CONTEXT, "tannery", now=NOW)
    assert _count(repo, EventRow) == 0


@pytest.mark.parametrize(
    "body",
    [{"eventList": {"a": 1}}, "x", {}, {"eventList": "none"}],
)
def test_a_document_without_an_event_list_array_is_rejected(repo: Database, body: Any) -> None:
    document = doc([]) | {"epcisBody": body}
    with pytest.raises(DocumentInvalid) as caught:
        capture.capture_stream(repo, io.BytesIO(json.dumps(document).encode()), "json", "tannery")
    assert caught.value.field == "/epcisBody/eventList"
    empty = capture.capture_stream(
        repo, io.BytesIO(json.dumps(doc([])).encode()), "json", "tannery"
    )
    assert empty.captured == 0


def test_values_longer_than_the_store_keeps_are_refused_by_field(repo: Database) -> None:
    long_id = "urn:uuid:" + "a" * 400
    event = observe("LONG") | {
        "eventID": long_id,
        "bizStep": "https://example.com/steps/" + "x" * 300,
    }
    with pytest.raises(DocumentInvalid) as caught:
        capture.capture_document(repo, doc([event]), "tannery", now=NOW)
    pointers = [p.pointer for p in caught.value.problems]
    assert "/epcisBody/eventList/0/eventID" in pointers
    assert "/epcisBody/eventList/0/bizStep" in pointers
    assert _count(repo, EventRow) == 0


def test_leaves_written_once_per_capture_equal_leaf_data() -> None:
    from mics.ledger.leaf import leaf_data, leaf_writer

    digest = event_hash(observe("W1"), CONTEXT)
    recorded = datetime(2026, 11, 24, 12, 30, 1, 123999, tzinfo=UTC)
    leaf = leaf_writer(recorded, "tannery")
    assert leaf(digest) == leaf_data(digest, recorded, "tannery")
    with pytest.raises(InvalidInput, match="event hash"):
        leaf("ni:///sha-256;00?ver=CBV2.0")


def test_a_capture_stores_the_same_rows_whether_read_whole_or_streamed(
    repo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.trace import documents

    events = [observe(f"R{i}", minute=i % 60) for i in range(30)]
    events[3] = events[3] | {"eventID": "urn:uuid:7d8b4d0e-7c42-4b4a-9a8c-1c3c2f1b0a12"}
    data = json.dumps(doc([*events, events[5]])).encode()
    whole = capture.capture_stream(repo, io.BytesIO(data), "json", "tannery", now=NOW)
    monkeypatch.setattr(documents, "WHOLE_JSON_BYTES", 0)
    streamed = capture.capture_stream(repo, io.BytesIO(data), "json", "tannery", now=NOW)
    assert (whole.captured, whole.duplicates) == (30, 1)
    assert (streamed.captured, streamed.duplicates) == (0, 31)
    page = query.run(repo, {"perPage": "100"}, ALL)
    assert [e["eventID"] for e in page.events] == whole.event_ids


def test_a_finished_job_records_its_counts_and_the_document_context(repo: Database) -> None:
    capture.capture_document(repo, doc([observe("J1")]), "tannery", now=NOW)
    result = capture.capture_document(repo, doc([observe("J1"), observe("J2")]), "tannery")
    job = capture_jobs.job(repo, result.capture_id)
    assert job is not None
    assert (job.running, job.success, job.captured, job.duplicates) == (False, True, 1, 1)
    assert (job.partner_id, job.error_behaviour, job.errors) == ("tannery", "rollback", [])
    assert job.context == CONTEXT
    assert job.finished_at is not None


def test_a_rejected_document_leaves_only_its_failed_job(repo: Database) -> None:
    bad = observe("J3")
    del bad["eventTime"]
    with pytest.raises(DocumentInvalid) as caught:
        capture.capture_events(repo, [observe("J4"), bad], CONTEXT, "tannery", now=NOW)
    with repo.read() as s:
        jobs = s.execute(text("SELECT id FROM capture_job")).scalars().all()
    assert len(jobs) == 1
    job = capture_jobs.job(repo, jobs[0])
    assert job is not None
    assert (job.running, job.success, job.captured) == (False, False, 0)
    assert [e["pointer"] for e in job.errors] == [p.pointer for p in caught.value.problems]
    assert _count(repo, EventRow) == _count(repo, LeafRow) == 0


def test_a_job_without_context_stores_json_null_as_the_orm_did(repo: Database) -> None:
    # Core binds JSON as the ORM did: None is the JSON value null, not SQL NULL.
    capture.capture_events(repo, [observe("J5")], None, "tannery", now=NOW)
    with repo.read() as s:
        assert s.execute(text("SELECT context IS NULL FROM capture_job")).scalar_one() in (0, False)


def test_a_one_event_capture_runs_eleven_statements(repo: Database) -> None:
    # job insert, head lock, next event id, duplicates, event, identifiers, edge nodes,
    # leaf, nodes, head size, job update: the fixed cost that small captures pay (issue 6)
    capture.capture_events(repo, [observe("K0")], CONTEXT, "tannery", now=NOW)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(repo.engine, "before_cursor_execute", count)
    try:
        capture.capture_events(repo, [observe("K1")], CONTEXT, "tannery", now=NOW)
    finally:
        event.remove(repo.engine, "before_cursor_execute", count)
    assert len(statements) == 11, statements
    assert sum("ledger_node WHERE" in sql for sql in statements) == 1


def test_what_the_caller_writes_in_the_capture_commits_with_the_events_or_not_at_all(
    repo: Database,
) -> None:
    seen: list[int] = []

    with write_gate(repo)(), repo.transaction() as s:
        capture.capture_in(s, [observe("T1"), observe("T2")], CONTEXT, "tannery")
        connection = s.connection()  # sees the capture's own rows, uncommitted
        seen.append(connection.execute(select(func.count()).select_from(EventRow)).scalar_one())
        connection.execute(text("UPDATE partner SET name = 'marked' WHERE id = 'workshop'"))
    assert seen == [2]

    def fails() -> None:
        with write_gate(repo)(), repo.transaction() as s:
            capture.capture_in(s, [observe("T3")], CONTEXT, "tannery")
            s.connection().execute(text("UPDATE partner SET name = 'lost' WHERE id = 'tannery'"))
            raise RuntimeError("the caller's part failed")

    with pytest.raises(RuntimeError):
        fails()
    with repo.read() as s:
        names = {str(r[0]): str(r[1]) for r in s.execute(text("SELECT id, name FROM partner"))}
        assert log.size(s) == 2
    assert (names["workshop"], names["tannery"]) == ("marked", "tannery")
    assert _count(repo, EventRow) == _count(repo, LeafRow) == 2


def test_built_events_skip_validation_and_others_do_not(repo: Database) -> None:
    # ``built`` is for events MICS assembles itself (tag-scan verdicts): their checks are
    # in tests/passport/test_scans.py. An outside event with the same flaw is refused.
    flawed = observe("B1") | {"readPoint": {"id": "https://id.gs1.org/414/8012345900016"}}
    with pytest.raises(DocumentInvalid) as caught:
        capture.capture_events(repo, [flawed], CONTEXT, "tannery")
    assert [p.pointer for p in caught.value.problems] == ["/epcisBody/eventList/0/readPoint/id"]
    with repo.transaction() as s:
        result = capture.capture_built_in(s, [flawed], CONTEXT, "tannery")
    assert result.captured == 1
