"""Kick-off 1:1 meetings: who meets whom, in which slot, at which table.

Partners register interest in the ideas others present; each interest asks for a
meeting between the interested partner and the idea's presenter, with a value (how
much the interested partner wants it, 1-5). Meetings last 20 or 30 minutes, as at
b2match events. The schedule is a 0-1 integer programme solved by HiGHS through
``scipy.optimize.milp`` (already a dependency; the demo's ~100 meetings x 12 slots
solve in milliseconds, where OR-Tools CP-SAT would add a 30 MB wheel for nothing):

    maximise   sum over meetings m, slots s of  value_m * (1 + EARLY * (S - s) / S) * x[m,s]
    subject to sum_s x[m,s] <= 1                  each meeting at most once
               sum_m x[m,s] <= tables             a table per meeting
               sum_{m with p} x[m,s] <= 1         no partner in two meetings at once
               x[m,s] = 0 when p or q is away     each partner's availability

The most valued meetings are kept when slots run short and go first in the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from mics.errors import InvalidInput

SLOT_MINUTES = (20, 30)  # b2match's 1:1 meeting lengths (REFERENCES.md, "Match-making")
MAX_VALUE = 5
# Preference for early slots: at most 10 % of a meeting's value, so no earlier slot is
# worth dropping a meeting for, but a valued meeting goes before a less valued one.
EARLY = 0.1
MAX_MEETINGS = 2000  # interests per event: 2,000 x 24 slots is 48,000 binaries, ~1 s of HiGHS
MAX_TABLES = 200


@dataclass(frozen=True)
class Interest:
    partner: str  # who asks for the meeting
    presenter: str  # whose idea it is
    idea: str
    value: int


@dataclass(frozen=True)
class Plan:
    event: str
    day: date
    start: time
    end: time
    slot_minutes: int
    tables: int
    timezone: str
    availability: dict[str, tuple[tuple[time, time], ...]]  # absent: the whole event
    interests: tuple[Interest, ...]

    def slots(self) -> list[tuple[datetime, datetime]]:
        """The event's slots, start to end."""
        step = timedelta(minutes=self.slot_minutes)
        at, end = datetime.combine(self.day, self.start), datetime.combine(self.day, self.end)
        out = []
        while at + step <= end:
            out.append((at, at + step))
            at += step
        return out

    def free(self, partner: str, slot: tuple[datetime, datetime]) -> bool:
        windows = self.availability.get(partner)
        if windows is None:
            return True
        return any(slot[0].time() >= a and slot[1].time() <= b for a, b in windows)


@dataclass(frozen=True)
class Meeting:
    partner: str
    presenter: str
    idea: str
    value: int
    start: datetime
    end: datetime
    table: int


@dataclass(frozen=True)
class Schedule:
    plan: Plan
    meetings: tuple[Meeting, ...]
    unscheduled: tuple[Interest, ...]

    def agenda(self, partner: str) -> list[Meeting]:
        return [m for m in self.meetings if partner in (m.partner, m.presenter)]


def _time(value: Any, field: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidInput(
            "not a time of day", field=field, value=value, expected="HH:MM, e.g. 09:30"
        ) from error


def parse_plan(raw: dict[str, Any], partners: set[str]) -> Plan:
    """A ``Plan`` from a kick-off file's JSON, each field checked (``partners``: known ids)."""
    if not isinstance(raw, dict):
        raise InvalidInput("a kick-off file is a JSON object", field="", value=type(raw).__name__)
    try:
        day = date.fromisoformat(str(raw.get("date")))
    except ValueError as error:
        raise InvalidInput(
            "not a date", field="date", value=raw.get("date"), expected="YYYY-MM-DD"
        ) from error
    start, end = _time(raw.get("start", "09:00"), "start"), _time(raw.get("end", "13:00"), "end")
    if end <= start:
        raise InvalidInput(
            "the event ends before it starts",
            field="end",
            value=str(end),
            expected=f"after {start}",
        )
    minutes = raw.get("slot_minutes", 30)
    if minutes not in SLOT_MINUTES:
        raise InvalidInput(
            "meetings last 20 or 30 minutes",
            field="slot_minutes",
            value=minutes,
            expected=" or ".join(map(str, SLOT_MINUTES)),
        )
    tables = raw.get("tables", 10)
    if not isinstance(tables, int) or not 1 <= tables <= MAX_TABLES:
        raise InvalidInput(
            "table count out of range", field="tables", value=tables, expected=f"1..{MAX_TABLES}"
        )
    zone = str(raw.get("timezone", "Europe/Rome"))
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(
            "unknown time zone", field="timezone", value=zone, expected="an IANA name: Europe/Rome"
        ) from error
    availability: dict[str, tuple[tuple[time, time], ...]] = {}
    for partner, windows in (raw.get("availability") or {}).items():
        field = f"availability.{partner}"
        if partner not in partners:
            raise InvalidInput(
                f"unknown partner {partner!r}", field=field, value=partner, expected="a partner id"
            )
        checked = []
        for i, window in enumerate(windows if isinstance(windows, list) else [None]):
            if not (isinstance(window, list) and len(window) == 2):
                raise InvalidInput(
                    "a window is [from, to]",
                    field=f"{field}[{i}]",
                    value=window,
                    expected='["09:00", "11:00"]',
                )
            a, b = _time(window[0], f"{field}[{i}]"), _time(window[1], f"{field}[{i}]")
            if b <= a or b <= start or a >= end:
                raise InvalidInput(
                    "an impossible availability: empty, or outside the event",
                    field=f"{field}[{i}]",
                    value=window,
                    expected=f"from < to, overlapping {start:%H:%M}-{end:%H:%M}",
                )
            checked.append((a, b))
        availability[partner] = tuple(checked)
    interests = []
    listed = raw.get("interests") or []
    if len(listed) > MAX_MEETINGS:
        raise InvalidInput(
            f"{len(listed)} interests",
            field="interests",
            value=len(listed),
            expected=f"at most {MAX_MEETINGS}",
        )
    for i, item in enumerate(listed):
        field = f"interests[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput("an interest is an object", field=field, value=item)
        for key in ("partner", "presenter"):
            if item.get(key) not in partners:
                raise InvalidInput(
                    f"unknown partner {item.get(key)!r}",
                    field=f"{field}.{key}",
                    value=item.get(key),
                    expected="a partner id of the registry",
                )
        if item["partner"] == item["presenter"]:
            raise InvalidInput(
                "a partner does not meet itself",
                field=f"{field}.partner",
                value=item["partner"],
                expected="another partner than the presenter",
            )
        value = item.get("value", 1)
        if not isinstance(value, int) or not 1 <= value <= MAX_VALUE:
            raise InvalidInput(
                "value out of range",
                field=f"{field}.value",
                value=value,
                expected=f"an integer 1..{MAX_VALUE}",
            )
        interests.append(
            Interest(item["partner"], item["presenter"], str(item.get("idea", "")), value)
        )
    return Plan(
        event=str(raw.get("event", "MICS kick-off")),
        day=day,
        start=start,
        end=end,
        slot_minutes=minutes,
        tables=tables,
        timezone=zone,
        availability=availability,
        interests=_merged(interests),
    )


def _merged(interests: list[Interest]) -> tuple[Interest, ...]:
    """One request per pair of partners: the most valued of theirs (ties: the first)."""
    best: dict[frozenset[str], Interest] = {}
    for interest in interests:
        pair = frozenset((interest.partner, interest.presenter))
        if pair not in best or interest.value > best[pair].value:
            best[pair] = interest
    return tuple(best.values())


def schedule(plan: Plan) -> Schedule:
    """The meetings of ``plan`` placed in slots and at tables (see the module docstring)."""
    slots = plan.slots()
    wanted = list(plan.interests)
    pairs = [
        (m, s)
        for m, i in enumerate(wanted)
        for s, slot in enumerate(slots)
        if plan.free(i.partner, slot) and plan.free(i.presenter, slot)
    ]
    if not pairs:
        return Schedule(plan, (), tuple(wanted))
    n_slots = len(slots)
    gain = np.array([wanted[m].value * (1 + EARLY * (n_slots - s) / n_slots) for m, s in pairs])
    partners = sorted({p for i in wanted for p in (i.partner, i.presenter)})
    rows = len(wanted) + n_slots + len(partners) * n_slots
    a = lil_matrix((rows, len(pairs)))
    where = {p: k for k, p in enumerate(partners)}
    for column, (m, s) in enumerate(pairs):
        a[m, column] = 1
        a[len(wanted) + s, column] = 1
        for p in (wanted[m].partner, wanted[m].presenter):
            a[len(wanted) + n_slots + where[p] * n_slots + s, column] = 1
    upper = np.concatenate(
        [np.ones(len(wanted)), np.full(n_slots, plan.tables), np.ones(len(partners) * n_slots)]
    )
    result = milp(
        c=-gain,
        constraints=LinearConstraint(a.tocsr(), -np.inf, upper),
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
    )
    if result.x is None:  # HiGHS always finds x = 0 feasible; kept for a solver that fails
        return Schedule(plan, (), tuple(wanted))
    taken = [pairs[c] for c in np.flatnonzero(result.x > 0.5)]
    tables_used: dict[int, int] = {}
    meetings = []
    for m, s in sorted(taken, key=lambda t: (t[1], -wanted[t[0]].value, t[0])):
        tables_used[s] = tables_used.get(s, 0) + 1
        i = wanted[m]
        meetings.append(
            Meeting(
                i.partner, i.presenter, i.idea, i.value, slots[s][0], slots[s][1], tables_used[s]
            )
        )
    placed = {m for m, _ in taken}
    return Schedule(
        plan, tuple(meetings), tuple(i for k, i in enumerate(wanted) if k not in placed)
    )
