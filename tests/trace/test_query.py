"""EPCIS queries over captured events: filters, pagination, refused parameters."""

from __future__ import annotations

import pytest
from tests.trace.test_capture import ALL, NOW, doc, observe

from mics.db import Database
from mics.errors import InvalidInput
from mics.trace import capture, query


def test_query_filters_and_pagination_never_skip_or_repeat(repo: Database) -> None:
    capture.capture_document(
        repo, doc([observe(f"P{i}", minute=i) for i in range(7)]), "tannery", now=NOW
    )
    first = query.run(repo, {"perPage": "3"}, ALL)
    assert first.next_token is not None
    # new events arrive while the client pages
    capture.capture_document(repo, doc([observe("NEW", minute=59)]), "tannery", now=NOW)
    second = query.run(repo, {"nextPageToken": first.next_token}, ALL)
    assert second.next_token is not None
    third = query.run(repo, {"nextPageToken": second.next_token}, ALL)
    seen = [e["epcList"][0][-3:] for e in first.events + second.events + third.events]
    assert seen == ["/P0", "/P1", "/P2", "/P3", "/P4", "/P5", "/P6", "NEW"]
    assert third.next_token is None
    receiving = query.run(
        repo, {"EQ_bizStep": "shipping", "MATCH_epc": "urn:epc:id:sgtin:8012345.000001.P3"}, ALL
    )
    assert [e["epcList"][0] for e in receiving.events] == [
        "https://id.gs1.org/01/08012345000012/21/P3"
    ]
    late = query.run(repo, {"GE_eventTime": "2026-03-01T10:05:00+01:00", "perPage": "50"}, ALL)
    assert len(late.events) == 3  # P5, P6, NEW


def test_unknown_query_parameter_is_rejected(repo: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        query.run(repo, {"EQ_colour": "red"}, ALL)
    assert caught.value.field == "EQ_colour"
