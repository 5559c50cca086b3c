"""Kick-off scheduling (scipy.optimize.milp) and iCalendar agendas (RFC 5545)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from mics.errors import InvalidInput
from mics.partnership import ical
from mics.partnership.kickoff import parse_plan, schedule
from mics.partnership.service import demo_kickoff

PARTNERS = {"a", "b", "c", "d", "e", "f"}


def _plan(**fields: Any) -> dict[str, Any]:
    return {"date": "2026-03-10", "start": "09:00", "end": "10:00", "slot_minutes": 30} | fields


def test_when_slots_run_short_the_least_valued_meeting_is_left_out() -> None:
    raw = _plan(
        interests=[
            {"partner": "b", "presenter": "a", "value": 1},
            {"partner": "c", "presenter": "a", "value": 3},
            {"partner": "d", "presenter": "a", "value": 2},
        ]
    )
    done = schedule(parse_plan(raw, PARTNERS))
    assert [(m.partner, f"{m.start:%H:%M}") for m in done.meetings] == [
        ("c", "09:00"),
        ("d", "09:30"),
    ]
    assert [i.partner for i in done.unscheduled] == ["b"]


def test_tables_bound_the_meetings_of_a_slot() -> None:
    raw = _plan(
        tables=1,
        interests=[
            {"partner": "a", "presenter": "b", "value": 2},
            {"partner": "c", "presenter": "d", "value": 3},
            {"partner": "e", "presenter": "f", "value": 1},
        ],
    )
    done = schedule(parse_plan(raw, PARTNERS))
    assert [(m.partner, m.table) for m in done.meetings] == [("c", 1), ("a", 1)]
    assert [i.partner for i in done.unscheduled] == ["e"]


def test_a_partner_away_is_not_booked_then() -> None:
    raw = _plan(
        availability={"b": [["09:30", "10:00"]]},
        interests=[{"partner": "b", "presenter": "a", "value": 5}],
    )
    (meeting,) = schedule(parse_plan(raw, PARTNERS)).meetings
    assert f"{meeting.start:%H:%M}" == "09:30"


def test_the_demo_kickoff_has_no_double_booking_and_keeps_availability() -> None:
    raw = demo_kickoff()
    partners = {p for i in raw["interests"] for p in (i["partner"], i["presenter"])}
    plan = parse_plan(raw, partners)
    done = schedule(plan)
    assert len(done.meetings) >= 20
    busy = Counter((p, m.start) for m in done.meetings for p in (m.partner, m.presenter))
    assert max(busy.values()) == 1
    per_slot = Counter(m.start for m in done.meetings)
    assert max(per_slot.values()) <= plan.tables
    assert all(
        plan.free(p, (m.start, m.end)) for m in done.meetings for p in (m.partner, m.presenter)
    )
    # maison-aurora has 6 requests and 5 free slots: the one of value 2 waits
    assert [(i.partner, i.presenter, i.value) for i in done.unscheduled] == [
        ("tessiture-biellesi", "maison-aurora", 2)
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slot_minutes": 25}, "slot_minutes"),
        ({"end": "08:00"}, "end"),
        ({"availability": {"a": [["11:00", "12:00"]]}}, "availability.a[0]"),
        ({"availability": {"a": [["09:40", "09:20"]]}}, "availability.a[0]"),
        ({"availability": {"zz": [["09:00", "10:00"]]}}, "availability.zz"),
        ({"interests": [{"partner": "a", "presenter": "zz"}]}, "interests[0].presenter"),
        ({"interests": [{"partner": "a", "presenter": "a"}]}, "interests[0].partner"),
        ({"interests": [{"partner": "a", "presenter": "b", "value": 9}]}, "interests[0].value"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"date": "10/03/2026"}, "date"),
    ],
)
def test_impossible_plans_are_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_plan(_plan(**fields), PARTNERS)
    assert caught.value.field == field


def test_an_agenda_is_rfc_5545_in_utc_with_folded_escaped_lines() -> None:
    raw = _plan(
        start="10:00",
        end="11:00",
        interests=[{"partner": "b", "presenter": "a", "idea": "oro, argento; " + "x" * 90}],
    )
    done = schedule(parse_plan(raw, PARTNERS))
    text = ical.agenda(done, "b", {"a": "Orafi Aretini"}, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-2:] == ["END:VCALENDAR", ""]
    assert "DTSTART:20260310T090000Z" in lines  # 10:00 in Rome in March is 09:00 UTC (CET)
    assert "DTEND:20260310T093000Z" in lines
    assert "DTSTAMP:20260102T030405Z" in lines
    assert "SUMMARY:1:1 with Orafi Aretini" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "DESCRIPTION:Idea: oro\\, argento\\; " + "x" * 90 + "\r\n" in unfolded
