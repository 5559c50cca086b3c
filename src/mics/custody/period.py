"""Balancing periods: the time boundary of a mass balance (ISO 22095-2, boundary in time).

Written as a quarter ``2026Q3``, a half ``2026H2``, a month ``2026-07``, a year
``2026`` or an ISO 8601 interval of dates ``2026-07-01/2026-09-30`` (both days
inclusive). A period runs from its first day 00:00 UTC to the day after its last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from mics.errors import InvalidInput

EXPECTED = "2026Q3, 2026H2, 2026-07, 2026 or 2026-07-01/2026-09-30"
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_HALF = re.compile(r"^(\d{4})H([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})/(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    start: date  # first day
    end: date  # the day after the last

    @property
    def name(self) -> str:
        months = self.months
        if self.start.day == 1 and self.end.day == 1:
            if months == 3 and self.start.month % 3 == 1:
                return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
            if months == 1:
                return f"{self.start.year}-{self.start.month:02d}"
            if months == 12 and self.start.month == 1:
                return str(self.start.year)
            if months == 6 and self.start.month in (1, 7):
                return f"{self.start.year}H{1 if self.start.month == 1 else 2}"
        return f"{self.start.isoformat()}/{(self.end - timedelta(days=1)).isoformat()}"

    @property
    def months(self) -> float:
        """Its length in calendar months (a part month counts by its days)."""
        whole = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
        return whole + (self.end.day - self.start.day) / 30.0

    @cached_property
    def start_time(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC)

    @cached_property
    def end_time(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=UTC)

    def holds(self, moment: datetime) -> bool:
        return self.start_time <= moment < self.end_time

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end

    def previous(self) -> Period:
        """The period of the same length just before this one (carry-over comes from it)."""
        return parse_period(self._shift(-1))

    def _shift(self, step: int) -> str:
        name = self.name
        for pattern, per_year in ((_QUARTER, 4), (_HALF, 2)):
            found = pattern.match(name)
            if found:
                index = int(found[1]) * per_year + int(found[2]) - 1 + step
                letter = "Q" if per_year == 4 else "H"
                return f"{index // per_year}{letter}{index % per_year + 1}"
        found = _MONTH.match(name)
        if found:
            index = int(found[1]) * 12 + int(found[2]) - 1 + step
            return f"{index // 12}-{index % 12 + 1:02d}"
        if _YEAR.match(name):
            return str(int(name) + step)
        length = self.end - self.start
        start = self.start + step * length
        return f"{start.isoformat()}/{(start + length - timedelta(days=1)).isoformat()}"


def parse_period(text: str, field: str = "period") -> Period:
    """The period ``text`` names; ``InvalidInput`` for anything else."""
    text = text.strip() if isinstance(text, str) else text
    try:
        if found := _QUARTER.match(text):
            year, quarter = int(found[1]), int(found[2])
            return _months(year, 3 * quarter - 2, 3)
        if found := _HALF.match(text):
            return _months(int(found[1]), 1 if found[2] == "1" else 7, 6)
        if found := _MONTH.match(text):
            return _months(int(found[1]), int(found[2]), 1)
        if found := _YEAR.match(text):
            return _months(int(found[1]), 1, 12)
        if found := _RANGE.match(text):
            first, last = date.fromisoformat(found[1]), date.fromisoformat(found[2])
            if last < first:
                raise ValueError("ends before it starts")
            return Period(first, last + timedelta(days=1))
    except (ValueError, OverflowError) as error:
        raise InvalidInput(
            f"not a period ({error})", field=field, value=text, expected=EXPECTED
        ) from None
    raise InvalidInput("not a period", field=field, value=text, expected=EXPECTED)


def _months(year: int, month: int, count: int) -> Period:
    if not 1 <= month <= 12 or not 1900 <= year <= 9998:
        raise ValueError("month or year out of range")
    end_index = year * 12 + month - 1 + count
    return Period(date(year, month, 1), date(end_index // 12, end_index % 12 + 1, 1))


def check_length(period: Period, max_months: int | None, source: str) -> Period:
    """Refuse a period longer than a scheme allows (ISCC PLUS: three months)."""
    if max_months is not None and period.months > max_months + 1e-9:
        raise InvalidInput(
            f"longer than the {max_months} months the scheme allows ({source})",
            field="period",
            value=period.name,
            expected=f"a period of at most {max_months} months, e.g. 2026Q3",
        )
    return period
