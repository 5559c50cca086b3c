"""Balancing periods: quarter, half, month, year, date range; lengths and overlaps."""

from __future__ import annotations

from datetime import date

import pytest

from mics.custody.period import check_length, parse_period
from mics.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026Q3", date(2026, 7, 1), date(2026, 10, 1)),
        ("2026Q4", date(2026, 10, 1), date(2027, 1, 1)),
        ("2026H1", date(2026, 1, 1), date(2026, 7, 1)),
        ("2026-02", date(2026, 2, 1), date(2026, 3, 1)),
        ("2026", date(2026, 1, 1), date(2027, 1, 1)),
        ("2026-07-15/2026-08-14", date(2026, 7, 15), date(2026, 8, 15)),
    ],
)
def test_a_period_runs_from_its_first_day_to_the_day_after_its_last(
    text: str, start: date, end: date
) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)
    assert parse_period(period.name) == period


@pytest.mark.parametrize("text", ["2026Q5", "26Q3", "2026-13", "2026-09-01/2026-08-01", ""])
def test_a_malformed_period_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_period(text)
    assert caught.value.field == "period"


def test_iscc_refuses_a_half_year_but_takes_a_quarter() -> None:
    assert check_length(parse_period("2026Q3"), 3, "ISCC").months == 3
    with pytest.raises(InvalidInput, match="longer than the 3 months"):
        check_length(parse_period("2026H2"), 3, "ISCC")


def test_a_month_overlaps_its_quarter_but_not_the_next() -> None:
    assert parse_period("2026-08").overlaps(parse_period("2026Q3"))
    assert not parse_period("2026-10").overlaps(parse_period("2026Q3"))
    assert parse_period("2026Q3").previous().name == "2026Q2"
    assert parse_period("2026Q1").previous().name == "2025Q4"
