"""Issue 20: an event time later than the repository's clock is captured with a warning."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.support import epcis_document

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture, capture_jobs, clock_skew
from mics.trace.clock_skew import ahead

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    return db


def observe(serial: str, when: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": when,
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"urn:epc:id:sgtin:8012345.000001.{serial}"],
    }


def _capture(repo: Database, *events: dict[str, Any]) -> capture.CaptureResult:
    body = json.dumps(epcis_document(list(events))).encode()
    return capture.capture_stream(repo, io.BytesIO(body), "json", "op", now=NOW)


@pytest.mark.parametrize(
    ("delta", "iso"),
    [
        (timedelta(hours=3, minutes=2, seconds=5.5), "PT3H2M5.5S"),
        (timedelta(days=2, hours=1), "P2DT1H"),
        (timedelta(days=1), "P1D"),
        (timedelta(milliseconds=1), "PT0.001S"),
        (timedelta(minutes=90), "PT1H30M"),
    ],
)
def test_how_far_ahead_is_an_iso_8601_duration(delta: timedelta, iso: str) -> None:
    assert ahead(delta) == iso


def test_each_future_event_is_captured_with_a_warning_naming_it(repo: Database) -> None:
    done = _capture(
        repo,
        observe("C1", "2026-11-24T12:59:00.000+01:00"),  # 11:59Z: a minute before the capture
        observe("C2", "2026-11-24T15:00:00.000+01:00"),  # 14:00Z: two hours ahead
        observe("C3", "2026-11-27T13:00:00.000+01:00"),  # three days ahead
    )
    assert (done.captured, done.problems) == (3, [])
    assert [(w["eventIndex"], w["ahead"]) for w in done.warnings] == [(1, "PT2H"), (2, "P3D")]
    first = done.warnings[0]
    assert first["pointer"] == "/epcisBody/eventList/1/eventTime"
    assert first["value"] == "2026-11-24T15:00:00.000+01:00"
    assert "2026-11-24T12:00:00Z" in first["warning"]
    job = capture_jobs.job(repo, done.capture_id)
    assert job is not None
    assert job.warnings == done.warnings


def test_a_duplicate_is_not_warned_about_again(repo: Database) -> None:
    ahead_event = observe("D1", "2027-01-01T00:00:00.000+01:00")
    assert len(_capture(repo, ahead_event).warnings) == 1
    again = _capture(repo, ahead_event)
    assert (again.duplicates, again.warnings) == (1, [])


def test_past_the_limit_one_line_counts_the_rest(
    repo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock_skew, "MAX_WARNINGS", 2)
    events = [observe(f"L{i}", f"2027-01-0{i + 1}T00:00:00.000+01:00") for i in range(5)]
    done = _capture(repo, *events)
    kept = done.warning_list()
    assert [w["eventIndex"] for w in kept] == [0, 1, None]
    assert kept[-1]["value"] == 3
    assert "3 more events" in kept[-1]["warning"]
    job = capture_jobs.job(repo, done.capture_id)
    assert job is not None
    assert job.warnings == kept


def test_events_in_the_past_leave_no_warning(repo: Database) -> None:
    done = _capture(repo, observe("P1", "2026-03-01T10:00:00.000+01:00"))
    assert done.warnings == []
    job = capture_jobs.job(repo, done.capture_id)
    assert job is not None
    assert job.warnings == []
