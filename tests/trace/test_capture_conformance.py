"""Issue 20: what capture accepts and refuses, as EPCIS 2.0 and the EPC TDS have it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support import epcis_document

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture
from mics.trace.store import EventRow
from mics.trace.validate import DocumentInvalid

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def observe(serial: str, when: str = "2026-03-01T10:00:00.000+01:00") -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": when,
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"urn:epc:id:sgtin:8012345.000001.{serial}"],
    }


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    return db


def _stored(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(EventRow)) or 0)


QUERY_JSON = {
    "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
    "type": "EPCISQueryDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-03-01T10:00:00Z",
    "epcisBody": {
        "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": {"eventList": [observe("Q1")]},
        }
    },
}
QUERY_XML = b"""<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2"
    schemaVersion="2.0" creationDate="2026-03-01T10:00:00Z"><EPCISBody><epcisq:QueryResults>
  <queryName>SimpleEventQuery</queryName><resultsBody><EventList><ObjectEvent>
    <eventTime>2026-03-01T10:00:00.000+01:00</eventTime>
    <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
    <epcList><epc>urn:epc:id:sgtin:8012345.000001.Q2</epc></epcList><action>OBSERVE</action>
  </ObjectEvent></EventList></resultsBody></epcisq:QueryResults></EPCISBody>
</epcisq:EPCISQueryDocument>"""
POLL_XML = b"""<epcisq:EPCISQueryDocument xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2"
    schemaVersion="2.0" creationDate="2026-03-01T10:00:00Z"><EPCISBody><epcisq:Poll>
  <queryName>SimpleEventQuery</queryName><params/></epcisq:Poll></EPCISBody>
</epcisq:EPCISQueryDocument>"""
BARE_POLL_XML = b"""<epcisq:Poll xmlns:epcisq="urn:epcglobal:epcis-query:xsd:2">
  <queryName>SimpleEventQuery</queryName><params/></epcisq:Poll>"""


@pytest.mark.parametrize(
    ("body", "binding", "kind"),
    [
        (json.dumps(QUERY_JSON).encode(), "json", "EPCISQueryDocument"),
        (QUERY_XML, "xml", "EPCISQueryDocument"),
        (POLL_XML, "xml", "EPCISQueryDocument"),
        (BARE_POLL_XML, "xml", "Poll"),
    ],
)
def test_query_documents_and_query_control_messages_are_not_captured(
    repo: Database, body: bytes, binding: str, kind: str
) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        capture.capture_stream(repo, io.BytesIO(body), binding, "op", now=NOW)
    assert refused.value.field == "/type"
    assert refused.value.value == kind
    assert "'EPCISDocument'" in str(refused.value)
    assert _stored(repo) == 0


def test_a_parsed_query_document_is_not_captured_either(repo: Database) -> None:
    for behaviour in capture.BEHAVIOURS:
        with pytest.raises(DocumentInvalid, match="capture takes an EPCIS document"):
            capture.capture_document(repo, QUERY_JSON, "op", behaviour=behaviour, now=NOW)
    assert _stored(repo) == 0
    done = capture.capture_document(repo, epcis_document([observe("D1")]), "op", now=NOW)
    assert done.captured == 1


def test_future_event_times_are_captured(repo: Database) -> None:
    # EPCIS 2.0 sets no upper bound on eventTime: a planned or forecast event is years ahead
    planned = observe("F1", when="2031-05-04T09:30:00.000+02:00")
    planned["eventTimeZoneOffset"] = "+02:00"
    body = json.dumps(epcis_document([planned, observe("F2")])).encode()
    done = capture.capture_stream(repo, io.BytesIO(body), "json", "op", now=NOW)
    assert (done.captured, done.problems) == (2, [])
    with repo.read() as s:
        latest = s.scalar(select(func.max(EventRow.event_time)))
    assert latest is not None
    assert latest.replace(tzinfo=UTC) == datetime(2031, 5, 4, 7, 30, tzinfo=UTC)
