"""``mics.storage.bulk``: rows sent with COPY (PostgreSQL) read back as they were sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from tests.support import EPCIS_CONTEXT, epcis_document

from mics import registry
from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.storage import bulk
from mics.trace import capture, query

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
# what COPY's text format must escape: tab, newline, carriage return, backslash; and non-ASCII
AWKWARD = "tab\there, line\nbreak\r, back\\slash \\N, ü €, 𝄞"


def _events(count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "ObjectEvent",
            "action": "ADD",
            "bizStep": "shipping",
            "eventTime": f"2026-03-01T10:{n:02d}:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": [f"https://id.gs1.org/01/08012345000012/21/S{n}"],
            "bizTransactionList": [{"type": "po", "bizTransaction": f"urn:x:po:{n}"}],
            "ilmd": {"ex:note": f"{AWKWARD} {n}"},
        }
        for n in range(count)
    ]


def test_a_capture_large_enough_for_copy_reads_back_every_byte(db: Database) -> None:
    ensure_instance(db, "op")
    registry.create_partner(
        db,
        PartnerIn(id="tannery", name="t", kind="enterprise", is_public=False, gln="8012345900015"),
    )
    count = bulk.COPY_FROM * 2  # every table's batch past the COPY threshold
    events = _events(count)
    document = epcis_document(events)
    document["@context"] = [*EPCIS_CONTEXT, {"ex": "https://example.com/ns/"}]
    result = capture.capture_document(db, document, "tannery", now=NOW)
    assert result.captured == count
    page = query.run(db, {"perPage": "100"}, query.Viewer(partner=None)).events
    assert [e["ilmd"]["ex:note"] for e in page] == [f"{AWKWARD} {n}" for n in range(count)]
    found = query.run(db, {"EQ_bizTransaction_po": "urn:x:po:3"}, query.Viewer(None))
    assert [e["epcList"] for e in found.events] == [events[3]["epcList"]]
    with db.read() as s:
        times = s.execute(text("SELECT DISTINCT record_time FROM epcis_event")).scalars().all()
        leaves = s.execute(text("SELECT count(*) FROM ledger_leaf")).scalar()
    assert len(times) == 1
    assert leaves == count
