"""Issue 20: sensorElement and persistentDisposition in the EPCIS 2.0 XSD's order.

``EPCglobal-epcis-2_0.xsd``: SensorElementType is the sequence sensorMetadata?,
sensorReport+, extension?, then ``##other``; PersistentDispositionType is unset*, then set*.
MICS's writer keeps those orders whatever the JSON-LD key order; capture refuses XML
that breaks them, naming the element.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.support import epcis_document

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture
from mics.trace.event_hash import event_hash
from mics.trace.validate import DocumentInvalid
from mics.trace.xml_binding import parse_xml
from mics.trace.xml_writer import to_xml

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
DISP = "https://ref.gs1.org/cbv/Disp-"


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    return db


def _sensed() -> dict[str, Any]:
    # JSON-LD keys in the reverse of the XSD order: set before unset, report before metadata
    return {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:8012345.000001.S1"],
        "readPoint": {"id": "urn:epc:id:sgln:8012345.00001.0"},
        "sensorElementList": [
            {
                "sensorReport": [{"type": "gs1:Temperature", "value": 21.5, "uom": "CEL"}],
                "sensorMetadata": {"time": "2026-03-01T09:59:00.000+01:00"},
            }
        ],
        "persistentDisposition": {"set": ["completeness_verified"], "unset": ["in_progress"]},
    }


def _children(xml: str, parent: str) -> list[str]:
    inner = re.search(rf"<{parent}>(.*?)</{parent}>", xml, re.S)
    assert inner is not None, xml
    return re.findall(r"<(\w+)[\s/>]", inner.group(1))


def test_the_writer_keeps_the_xsd_sequences_whatever_the_key_order() -> None:
    xml = to_xml(epcis_document([_sensed()])).decode()
    assert _children(xml, "persistentDisposition") == ["unset", "set"]
    assert _children(xml, "sensorElement") == ["sensorMetadata", "sensorReport"]


def test_written_xml_is_captured_with_the_json_ld_hash(repo: Database) -> None:
    document = epcis_document([_sensed()])
    xml = to_xml(document)
    done = capture.capture_stream(repo, io.BytesIO(xml), "xml", "op", now=NOW)
    assert (done.captured, done.problems) == (1, [])
    back = parse_xml(xml)["epcisBody"]["eventList"][0]
    assert event_hash(back) == event_hash(_sensed(), document["@context"])


def _xml(children: str) -> bytes:
    return f"""<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"
    schemaVersion="2.0" creationDate="2026-03-01T10:00:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-03-01T10:00:00.000+01:00</eventTime>
    <eventTimeZoneOffset>+01:00</eventTimeZoneOffset>
    <epcList><epc>urn:epc:id:sgtin:8012345.000001.S2</epc></epcList><action>OBSERVE</action>
    <readPoint><id>urn:epc:id:sgln:8012345.00001.0</id></readPoint>{children}
  </ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>""".encode()


REPORT = '<sensorReport type="gs1:Temperature" value="21.5" uom="CEL"/>'
METADATA = '<sensorMetadata time="2026-03-01T09:59:00.000+01:00"/>'
SET = f"<set>{DISP}completeness_verified</set>"
UNSET = f"<unset>{DISP}in_progress</unset>"


@pytest.mark.parametrize(
    ("children", "element", "says"),
    [
        (
            f"<sensorElementList><sensorElement>{REPORT}{METADATA}</sensorElement>"
            "</sensorElementList>",
            "sensorMetadata",
            "after <sensorReport>",
        ),
        (f"<persistentDisposition>{SET}{UNSET}</persistentDisposition>", "unset", "after <set>"),
        (
            f"<persistentDisposition>{UNSET}{SET}{UNSET}</persistentDisposition>",
            "unset",
            "after <set>",
        ),
    ],
)
def test_sensor_elements_and_persistent_dispositions_out_of_order_are_refused(
    repo: Database, children: str, element: str, says: str
) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        capture.capture_stream(repo, io.BytesIO(_xml(children)), "xml", "op", now=NOW)
    assert refused.value.value == element
    assert refused.value.field is not None
    assert refused.value.field.endswith(f"/{element}")
    assert says in str(refused.value.expected)


def test_repeated_reports_and_dispositions_in_order_are_captured(repo: Database) -> None:
    children = (
        f"<sensorElementList><sensorElement>{METADATA}{REPORT}{REPORT.replace('21.5', '22')}"
        f"</sensorElement></sensorElementList><persistentDisposition>{UNSET}"
        f"{UNSET.replace('in_progress', 'active')}{SET}</persistentDisposition>"
    )
    done = capture.capture_stream(repo, io.BytesIO(_xml(children)), "xml", "op", now=NOW)
    assert (done.captured, done.problems) == (1, [])
