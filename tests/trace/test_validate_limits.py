"""Fields that must be arrays but are not: a problem naming the field, never a crash."""

from __future__ import annotations

import pytest

from mics.trace.validate import validate_event


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("epcList", 5),
        ("sourceList", True),
        ("destinationList", "x"),
        ("quantityList", 7),
        ("bizTransactionList", 1),
    ],
)
def test_a_non_array_list_field_is_reported_not_raised(field: str, value: object) -> None:
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "epcList": [],
        field: value,
    }
    problems = validate_event(event, 3)
    assert [(p.pointer, p.value) for p in problems] == [(f"/epcisBody/eventList/3/{field}", value)]
    assert problems[0].as_dict()["expected"] == "a JSON array"
