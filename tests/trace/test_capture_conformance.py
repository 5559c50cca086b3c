"""Issue 20: what capture accepts and refuses, as EPCIS 2.0 and the EPC TDS have it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support import EPCIS_CONTEXT, epcis_document

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture
from mics.trace.canonical_uri import canonical_uri
from mics.trace.event_hash import event_hash
from mics.trace.identifier_syntax import InvalidIdentifier, parse_identifier
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


# Check digits worked by hand (GS1 GS §7.9.1, weights 3,1,3,... from the right):
# 987659999999 -> 2 and 999999999999 -> 4 (0987659999999 has the same digits and weights).
@pytest.mark.parametrize(
    ("urn", "web"),
    [
        ("urn:epc:id:sgln:999999999999..0", "https://id.gs1.org/414/9999999999994"),
        ("urn:epc:id:sgln:987659999999..12", "https://id.gs1.org/414/9876599999992/254/12"),
        ("urn:epc:id:gdti:987659999999..9", "https://id.gs1.org/253/98765999999929"),
        ("urn:epc:id:sgcn:987659999999..5", "https://id.gs1.org/255/98765999999925"),
        ("urn:epc:id:pgln:987659999999.", "https://id.gs1.org/417/9876599999992"),
        # the reference hash implementation's GRAI and pattern rules want a third dot and so
        # leave these uncanonicalised; TDS 2.1 §6.3 and CBV 2.0 §8.9 rule 17 canonicalise them
        ("urn:epc:id:grai:987659999999..7", "https://id.gs1.org/8003/098765999999927"),
        ("urn:epc:idpat:grai:987659999999..*", "https://id.gs1.org/8003/09876599999992"),
        ("urn:epc:idpat:gdti:987659999999..*", "https://id.gs1.org/253/9876599999992"),
        ("urn:epc:idpat:sgcn:987659999999..*", "https://id.gs1.org/255/9876599999992"),
    ],
)
def test_a_twelve_digit_prefix_with_an_empty_reference_is_a_valid_key(urn: str, web: str) -> None:
    found = parse_identifier(urn)
    assert found is not None
    assert (found.syntax, found.scheme) == ("epc-urn", urn.split(":")[3])
    assert canonical_uri(urn) == web


@pytest.mark.parametrize(
    "urn",
    [
        "urn:epc:id:sgtin:987659999999..7",  # 13 digits: an SGTIN reference is never empty
        "urn:epc:id:gdti:98765999999..9",  # 11 digits leave one for the reference
        "urn:epc:id:sscc:987659999999.",
    ],
)
def test_an_empty_reference_that_leaves_the_key_short_is_refused(urn: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_identifier(urn)


def test_events_naming_empty_reference_keys_are_captured_and_hashed_as_web_uris(
    repo: Database,
) -> None:
    event = observe("E1") | {
        "readPoint": {"id": "urn:epc:id:sgln:999999999999..0"},
        "epcList": ["urn:epc:id:gdti:987659999999..9"],
    }
    as_web = observe("E1") | {
        "readPoint": {"id": "https://id.gs1.org/414/9999999999994"},
        "epcList": ["https://id.gs1.org/253/98765999999929"],
    }
    assert event_hash(event, EPCIS_CONTEXT) == event_hash(as_web, EPCIS_CONTEXT)
    done = capture.capture_document(repo, epcis_document([event]), "op", now=NOW)
    assert (done.captured, done.problems) == (1, [])


def _sensor_xml(report: str) -> bytes:
    return f"""<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
    creationDate="2026-03-01T10:00:00Z" xmlns:gs1="https://gs1.org/voc/">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-03-01T10:00:00.000+01:00</eventTime>
    <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
    <epcList><epc>urn:epc:id:sgtin:8012345.000001.R1</epc></epcList><action>OBSERVE</action>
    <readPoint><id>urn:epc:id:sgln:8012345.00001.0</id></readPoint>
    <sensorElementList><sensorElement>{report}</sensorElement></sensorElementList>
  </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>""".encode()


@pytest.mark.parametrize(
    "report",
    [
        '<sensorReport type="gs1:EffectiveDoseRate" value="0.004" uom="P71"/>',
        '<sensorReport type="gs1:EffectiveDose" value="1.5" uom="D13"/>',
        '<sensorReport exception="gs1:ALARM_CONDITION" booleanValue="true"/>',  # no type
        '<sensorReport type="gs1:Temperature" value="4.5" uom="CEL"/>',
    ],
)
def test_xml_sensor_reports_the_xsd_accepts_are_captured(repo: Database, report: str) -> None:
    body = io.BytesIO(_sensor_xml(report))
    done = capture.capture_stream(repo, body, "xml", "op", now=NOW)
    assert (done.captured, done.problems) == (1, [])


def _sensor_json(report: dict[str, Any]) -> dict[str, Any]:
    event = observe("R2") | {
        "readPoint": {"id": "urn:epc:id:sgln:8012345.00001.0"},
        "sensorElementList": [{"sensorReport": [report]}],
    }
    return epcis_document([event])


def test_json_sensor_reports_keep_the_json_schema_rules(repo: Database) -> None:
    # the JSON Schema accepts gs1:EffectiveDoseRate (vocab-nonGS1WebVoc-uri) ...
    done = capture.capture_document(
        repo, _sensor_json({"type": "gs1:EffectiveDoseRate", "value": 0.004}), "op", now=NOW
    )
    assert done.captured == 1
    # ... but requires a type, and knows no bare 'EffectiveDoseRate' (its enum, the context)
    no_type = _sensor_json({"exception": "ALARM_CONDITION", "booleanValue": True})
    with pytest.raises(DocumentInvalid) as refused:
        capture.capture_document(repo, no_type, "op", now=NOW)
    assert [p.pointer for p in refused.value.problems] == [
        "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/type"
    ]
    bare = _sensor_json({"type": "EffectiveDoseRate", "value": 0.004})
    with pytest.raises(DocumentInvalid, match="sensor measurement type"):
        capture.capture_document(repo, bare, "op", now=NOW)
    body = io.BytesIO(json.dumps(no_type).encode())
    with pytest.raises(DocumentInvalid, match="required field 'type'"):
        capture.capture_stream(repo, body, "json", "op", now=NOW)


def _object_event_xml(children: str, version: str = "2.0") -> bytes:
    return f"""<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:{version[0]}"
    schemaVersion="{version}" creationDate="2026-03-01T10:00:00Z"
    xmlns:ex="https://ns.example.com/epcis">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-03-01T10:00:00.000+01:00</eventTime>
    <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>{children}
  </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>""".encode()


EPCS = "<epcList><epc>urn:epc:id:sgtin:8012345.000001.X1</epc></epcList>"
STEP = "<bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>"
DISP = "<disposition>urn:epcglobal:cbv:disp:in_transit</disposition>"


@pytest.mark.parametrize(
    ("children", "element", "says"),
    [
        (f"{EPCS}<action>OBSERVE</action>{DISP}{STEP}", "bizStep", "after <disposition>"),
        (f"<action>OBSERVE</action>{EPCS}", "epcList", "after <action>"),
        (
            f"{EPCS}<ex:note>x</ex:note><action>OBSERVE</action>",
            "action",
            "extension element <note>",
        ),
        (f"{EPCS}<action>OBSERVE</action>{STEP}{STEP}", "bizStep", "after <bizStep>"),
    ],
)
def test_xml_elements_out_of_the_xsd_order_are_refused_naming_them(
    repo: Database, children: str, element: str, says: str
) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        capture.capture_stream(repo, io.BytesIO(_object_event_xml(children)), "xml", "op", now=NOW)
    assert refused.value.field == f"/epcisBody/eventList/0/{element}"
    assert refused.value.value == element
    assert says in str(refused.value.expected)
    assert _stored(repo) == 0


def test_xml_in_the_xsd_order_is_captured_in_2_0_and_1_2(repo: Database) -> None:
    # EPCIS 1.2 puts quantityList inside <extension>: opened, the same sequence
    in_order = f"{EPCS}<action>OBSERVE</action>{STEP}{DISP}<ex:note>x</ex:note>"
    v12 = (
        f"{EPCS}<action>OBSERVE</action>{STEP}<extension><quantityList><quantityElement>"
        "<epcClass>urn:epc:class:lgtin:8012345.000001.L1</epcClass><quantity>2</quantity>"
        "</quantityElement></quantityList></extension>"
    )
    for body in (_object_event_xml(in_order), _object_event_xml(v12, "1.2")):
        done = capture.capture_stream(repo, io.BytesIO(body), "xml", "op", now=NOW)
        assert (done.captured, done.problems) == (1, [])


def test_a_quantity_element_out_of_order_is_refused(repo: Database) -> None:
    wrong = (
        "<action>OBSERVE</action><quantityList><quantityElement><quantity>2</quantity>"
        "<epcClass>urn:epc:class:lgtin:8012345.000001.L1</epcClass></quantityElement>"
        "</quantityList>"
    )
    with pytest.raises(DocumentInvalid) as refused:
        capture.capture_stream(repo, io.BytesIO(_object_event_xml(wrong)), "xml", "op", now=NOW)
    assert refused.value.value == "epcClass"
    assert "after <quantity>" in str(refused.value.expected)
