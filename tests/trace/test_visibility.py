"""Who sees which events: a partner sees its own and those naming it."""

from __future__ import annotations

from tests.trace.test_capture import NOW, doc, observe

from mics.db import Database
from mics.trace import capture, query


def test_partner_sees_own_events_and_those_naming_it(repo: Database) -> None:
    mine = observe("M1")
    to_workshop = observe("M2") | {
        "destinationList": [
            {"type": "owning_party", "destination": "https://id.gs1.org/417/8012345900022"}
        ]
    }
    capture.capture_document(repo, doc([mine, to_workshop]), "tannery", now=NOW)
    from mics.trace.visibility import viewer_for

    tannery = query.run(repo, {}, viewer_for(repo, "tannery"))
    workshop = query.run(repo, {}, viewer_for(repo, "workshop"))
    assert len(tannery.events) == 2
    assert [e["epcList"][0][-2:] for e in workshop.events] == ["M2"]
