"""Frozen copies of rows (``mics.trace.row_copies``): every field by name, none left out."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from mics.trace.capture_jobs import CaptureJob
from mics.trace.row_copies import frozen_copy

WHEN = datetime(2026, 11, 24, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Pair:
    left: str
    right: int


def test_every_field_is_copied_from_the_attribute_of_its_name() -> None:
    row = SimpleNamespace(right=2, left="a", other="not a field")
    assert frozen_copy(Pair, row) == Pair(left="a", right=2)


def test_a_given_value_replaces_the_rows() -> None:
    assert frozen_copy(Pair, SimpleNamespace(left="a", right=2), right=7) == Pair("a", 7)


def test_a_field_the_row_lacks_fails_rather_than_being_left_out() -> None:
    with pytest.raises(AttributeError, match="right"):
        frozen_copy(Pair, SimpleNamespace(left="a"))


def test_a_capture_jobs_lists_are_its_own_not_the_rows() -> None:
    errors = [{"pointer": "/type"}]
    row = SimpleNamespace(
        id="c1",
        partner_id="tannery",
        role=None,
        created_at=WHEN,
        finished_at=None,
        running=False,
        success=False,
        error_behaviour="rollback",
        captured=0,
        duplicates=0,
        errors=errors,
        warnings=None,
        context=None,
    )
    job = CaptureJob.of(row)  # type: ignore[arg-type]
    errors.append({"pointer": "/later"})
    assert job.errors == [{"pointer": "/type"}]
    assert (job.id, job.partner_id, job.warnings, job.created_at) == ("c1", "tannery", None, WHEN)
    with pytest.raises(FrozenInstanceError):
        job.id = "c2"  # type: ignore[misc]
