"""Captures at the same time, as the server processes of one PostgreSQL run them.

A capture validates and hashes its events without the transparency log's lock and
takes it when it first writes (``trace.capture_rows.Writer``): captures prepare side
by side, one refused whole never waits for the lock, and whatever they race for (the
next event row id, an eventID another capture is storing, the log's head) is read
under the lock. The store they leave: each event once, each eventID once, one leaf per
event, and a log whose proofs verify.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from tests.support import EPCIS_CONTEXT

from mics.db import Database
from mics.ledger import merkle
from mics.ledger.note import Signer
from mics.ledger.store import log
from mics.trace import capture, partitions
from mics.trace.audit import audit
from mics.trace.capture_jobs import CaptureResult
from mics.trace.prepare import Batch, Outcome, prepare
from mics.trace.validate import DocumentInvalid

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
ROUNDS, OWN = 6, 4  # documents per partner, events of its own in each
PARTNERS = ("tannery", "workshop")  # the ``repo`` fixture's (tests/trace/conftest.py)
IDS = uuid.UUID("6f1c1e4e-4a8e-4a53-9d0b-6c1f3b0e7a21")


def observe(serial: str, event_id: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/08012345000012/21/{serial}"],
        "readPoint": {"id": "https://id.gs1.org/414/8012345900015"},
    }
    if event_id is not None:
        event["eventID"] = event_id
    return event


def event_id(kind: str, number: int) -> str:
    return f"urn:uuid:{uuid.uuid5(IDS, f'{kind}-{number}')}"


def document(partner: str, number: int) -> list[dict[str, Any]]:
    """``OWN`` events of ``partner`` alone, one both partners send alike (a duplicate for
    the later), and one whose eventID both use for different events (a conflict)."""
    own = [observe(f"{partner}-{number}-{i}") for i in range(OWN)]
    shared = observe(f"shared-{number}", event_id("shared", number))
    clash = observe(f"clash-{number}-{partner}", event_id("clash", number))
    return [*own, shared, clash]


def run_each(jobs: dict[str, Callable[[], Any]], outcomes: dict[str, Any]) -> None:
    """Run ``jobs`` on threads of their own to their end; what each returned or raised goes
    into ``outcomes`` under its name, as soon as it ends."""

    def run(name: str, job: Callable[[], Any]) -> None:
        try:
            outcomes[name] = job()
        except Exception as error:
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a capture never ended"


def test_concurrent_captures_store_each_event_and_each_event_id_once(repo: Database) -> None:
    partitions.ensure_months(repo, NOW)
    start = threading.Barrier(len(PARTNERS))

    def send(partner: str) -> Callable[[], list[CaptureResult]]:
        def rounds() -> list[CaptureResult]:
            results = []
            for number in range(ROUNDS):
                start.wait(timeout=60)  # both partners' documents at the same moment
                events = document(partner, number)
                results.append(
                    capture.capture_events(
                        repo, events, EPCIS_CONTEXT, partner, behaviour="proceed", now=NOW
                    )
                )
            return results

        return rounds

    outcomes: dict[str, Any] = {}
    run_each({partner: send(partner) for partner in PARTNERS}, outcomes)
    assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
    results = [result for partner in PARTNERS for result in outcomes[partner]]

    # every event of its own stored, the shared and the clashing ones once each
    expected = len(PARTNERS) * ROUNDS * OWN + 2 * ROUNDS
    assert sum(r.captured for r in results) == expected
    assert sum(r.duplicates for r in results) == ROUNDS  # the later of each shared pair
    refused = sorted(str(p.value) for r in results for p in r.problems)
    assert refused == sorted(event_id("clash", n) for n in range(ROUNDS))
    assert all(p.pointer.endswith("/eventID") for r in results for p in r.problems)
    with repo.read() as s:
        ids = {int(pk) for pk in s.scalars(text("SELECT id FROM epcis_event"))}
        twice = s.execute(
            text("SELECT event_id FROM epcis_event GROUP BY event_id HAVING count(*) > 1")
        ).all()
        leaves = s.execute(text("SELECT idx, event FROM ledger_leaf ORDER BY idx")).all()
        size = log.size(s)
        root = log.root(s, size)
    assert len(ids) == expected
    assert twice == []

    # the log: one leaf per event, in one unbroken sequence, and every proof verifies
    assert size == len(leaves) == expected
    assert [int(leaf[0]) for leaf in leaves] == list(range(size))
    assert {int(leaf[1]) for leaf in leaves} == ids
    for pk in ids:
        proof = log.inclusion_by_event(repo, pk, size)
        merkle.verify_inclusion(
            merkle.leaf_hash(proof.leaf_data), proof.leaf_index, size, proof.hashes, root
        )
    signer = Signer.generate("mics.example/concurrent")
    assert log.checkpoint(repo, signer, "mics.example/concurrent").size == expected
    report = audit(repo, signer.verifier)  # every leaf rebuilt from its event
    assert (report.ok, report.events, report.tree_size) == (True, expected, expected)


def _waiting_for_the_log(db: Database) -> int:
    """PostgreSQL backends of this database queued on the log's head row."""
    with db.engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%ledger_head%FOR UPDATE%'"
            )
        ).scalar()
    return int(found or 0)


def test_captures_validate_while_the_log_is_locked_and_queue_only_to_write(
    repo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    if repo.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite the write gate runs one capture at a time")
    partitions.ensure_months(repo, NOW)
    prepared: list[str] = []

    def noted(batch: Batch, *args: Any) -> Outcome:
        prepared.extend(event["epcList"][0].rsplit("/", 1)[1] for _, event in batch)
        return prepare(batch, *args)

    monkeypatch.setattr(capture, "prepare", noted)
    shared = observe("S1", event_id("shared", 99))
    invalid = observe("X1")
    del invalid["eventTime"]

    def send(partner: str, events: list[dict[str, Any]]) -> Callable[[], CaptureResult]:
        return lambda: capture.capture_events(repo, events, EPCIS_CONTEXT, partner, now=NOW)

    jobs = {
        "tannery": send("tannery", [observe("T1"), shared]),
        "workshop": send("workshop", [observe("W1"), shared]),
        "refused": send("tannery", [invalid]),
    }
    seen: dict[str, Any] = {}
    outcomes: dict[str, Any] = {}
    waiter = threading.Thread(target=run_each, args=(jobs, outcomes))
    with repo.transaction() as holder:
        log.lock(holder)  # another capture writing, as long as this transaction lasts
        waiter.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            queued = _waiting_for_the_log(repo)  # first: who queued had prepared before
            seen = {
                "refused": type(outcomes.get("refused")).__name__,
                "prepared": sorted(prepared),
                "queued": queued,
            }
            if queued == 2 and seen["refused"] != "NoneType":
                break
            time.sleep(0.05)
    waiter.join(timeout=120)
    # while the log was held: the invalid document refused, both others validated and
    # hashed, and queued for the log only to write
    assert seen == {
        "refused": "DocumentInvalid",
        "prepared": ["S1", "S1", "T1", "W1", "X1"],
        "queued": 2,
    }
    assert isinstance(outcomes["refused"], DocumentInvalid)
    captured = [outcomes[p] for p in ("tannery", "workshop")]
    assert sorted((r.captured, r.duplicates) for r in captured) == [(1, 1), (2, 0)]
    with repo.read() as s:
        stored = s.execute(
            text("SELECT event_id, count(*) FROM epcis_event GROUP BY event_id")
        ).all()
        assert log.size(s) == 3
    assert sorted(int(count) for _, count in stored) == [1, 1, 1]
