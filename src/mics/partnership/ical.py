"""A partner's kick-off agenda as iCalendar (RFC 5545): one VEVENT per meeting.

Times are the event's local times converted to UTC (§3.3.5 form #2, "Z"), so no
VTIMEZONE component is needed; lines are folded at 75 octets (§3.1) and text escaped
(§3.3.11); every line ends in CRLF.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mics.partnership.kickoff import Schedule

PRODID = "-//MICS//Kick-off 1:1 meetings//EN"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """``line`` cut into lines of at most 75 octets, each continuation led by a space."""
    out: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return [out[0], *(" " + rest for rest in out[1:])]


def agenda(schedule: Schedule, partner: str, names: dict[str, str], stamp: datetime) -> str:
    """The iCalendar text of ``partner``'s meetings (``names``: partner id -> name)."""
    plan = schedule.plan
    zone = ZoneInfo(plan.timezone)

    def utc(at: datetime) -> str:
        return f"{at.replace(tzinfo=zone).astimezone(UTC):%Y%m%dT%H%M%SZ}"

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    lines.append(f"X-WR-CALNAME:{_escape(f'{plan.event}: {names.get(partner, partner)}')}")
    for m in schedule.agenda(partner):
        other = m.presenter if m.partner == partner else m.partner
        key = f"{plan.event}|{m.partner}|{m.presenter}|{m.start.isoformat()}"
        uid = hashlib.sha256(key.encode()).hexdigest()[:32] + "@mics"
        summary = f"1:1 with {names.get(other, other)}"
        description = f"Idea: {m.idea}" if m.idea else "Kick-off meeting"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
            f"DTSTART:{utc(m.start)}",
            f"DTEND:{utc(m.end)}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            f"LOCATION:{_escape(f'{plan.event}, table {m.table}')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(f"{folded}\r\n" for line in lines for folded in _fold(line))
