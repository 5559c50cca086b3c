"""Clock-skew warnings: events captured with a time later than the repository's clock.

EPCIS 2.0 sets no upper bound on ``eventTime`` (§7.3.6 says only when the event took
place; planned and sensor events may carry a later one), so such an event is captured, not
refused. A time after the capture is still most often a capturing device's clock running
ahead, or a wrong ``eventTimeZoneOffset``; the capture job says so, one warning per event,
naming the event, its time and how far ahead of the repository's clock it was.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from mics.trace.validate import MAX_PROBLEMS

__all__ = ["MAX_WARNINGS", "ahead", "future_time", "more_warnings"]

MAX_WARNINGS = MAX_PROBLEMS  # kept per job, as its errors; then one line counting the rest


def ahead(delta: timedelta) -> str:
    """``delta`` as an ISO 8601 duration (``PT3H2M5.5S``, ``P2DT1H``)."""
    days, rest = delta.days, delta - timedelta(days=delta.days)
    hours, rest_s = divmod(rest.total_seconds(), 3600)
    minutes, seconds = divmod(rest_s, 60)
    date = f"P{days}D" if days else "P"
    parts = [f"{int(hours)}H" if hours else "", f"{int(minutes)}M" if minutes else ""]
    if seconds or not (days or hours or minutes):
        parts.append(f"{seconds:.3f}".rstrip("0").rstrip(".") + "S")
    time = "".join(parts)
    return date + (f"T{time}" if time else "")


def future_time(
    index: int, pointer: str, written: Any, event_time: datetime, clock: datetime
) -> dict[str, Any] | None:
    """The warning for event ``index`` (its ``eventTime`` ``written``, ``event_time`` in UTC)
    captured at ``clock``, or None when it is not later than ``clock``."""
    if event_time <= clock:
        return None
    by = ahead(event_time - clock)
    return {
        "eventIndex": index,
        "pointer": pointer,
        "value": written,
        "ahead": by,
        "warning": f"eventTime is {by} later than this repository's clock at capture "
        f"({clock.isoformat().replace('+00:00', 'Z')}): captured, as EPCIS 2.0 allows; "
        "check the capturing device's clock and eventTimeZoneOffset unless the event is planned",
    }


def more_warnings(count: int) -> dict[str, Any]:
    """The line that ends a job's warnings when ``count`` more were not kept."""
    return {
        "eventIndex": None,
        "pointer": "",
        "value": count,
        "warning": f"and {count} more events later than this repository's clock",
    }
