"""One CBV 2.0 event hash for one event in any syntax (issue 20 items 1 and 2).

Every document here is written for the test: the same event in JSON-LD and in XML, with
``@xmlns:`` keys as EPCIS 1.2-to-2.0 converters emit them, CURIE values with an XML
namespace declared, both spellings of the CBV master-data namespace, and a measurement type
bare or as ``gs1:``. The expected pre-hash strings are written by hand from CBV 2.0 §8.9.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import EPCIS_CONTEXT
from tests.trace.test_event_hash import generated_event

from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.trace import capture, query
from mics.trace.event_hash import document_hashes, event_hash, prehash
from mics.trace.inline_namespaces import lift_declarations
from mics.trace.xml_binding import parse_xml, to_xml

EX = "https://ns.example.com/epcis/"
EXT1 = "http://example.com/ext1/"
HEAD = "eventType=ObjectEventeventTime=2026-03-01T09:00:00.000ZeventTimeZoneOffset=+01:00"
MDA = "urn:epcglobal:cbv:mda:"


def jsonld(events: list[dict[str, Any]], *context: dict[str, str]) -> dict[str, Any]:
    return {
        "@context": [*EPCIS_CONTEXT, *context],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-01T10:00:00Z",
        "epcisBody": {"eventList": events},
    }


def xml(body: str, **namespaces: str) -> bytes:
    declared = "".join(f' xmlns:{p}="{uri}"' for p, uri in namespaces.items())
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"'
        f' creationDate="2026-03-01T10:00:00Z"{declared}><EPCISBody><EventList>'
        "<ObjectEvent><eventTime>2026-03-01T10:00:00.000+01:00</eventTime>"
        "<eventTimeZoneOffset>+01:00</eventTimeZoneOffset><epcList/><action>OBSERVE</action>"
        f"{body}</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def observe(**fields: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-03-01T10:00:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [],
        "action": "OBSERVE",
        **fields,
    }


# -- item 1: @xmlns: keys are namespace declarations


def test_xmlns_key_in_ilmd_declares_the_namespace_of_its_fields() -> None:
    event = observe(ilmd={"example:batch": "4711", "@xmlns:example": "http://ns.example.com/epcis"})
    assert prehash(event) == HEAD + "action=OBSERVEilmd{http://ns.example.com/epcis}batch=4711"


def test_xmlns_key_in_an_extension_declares_for_itself_and_what_it_holds_only() -> None:
    event = observe(
        **{
            "ext:wrapper": {"@xmlns:ext": "urn:example:inner", "ext:grade": "A"},
            "ext:after": "x",
        }
    )
    # The outer "ext" is the document's; the wrapper's declaration names the wrapper itself
    # and its fields, as xmlns:ext on <ext:wrapper> does in XML, and not its sibling.
    text = prehash(event, [{"ext": "urn:example:outer:"}])
    assert text == (
        HEAD + "action=OBSERVE{urn:example:inner}wrapper{urn:example:inner}grade=A"
        "{urn:example:outer:}after=x"
    )


def test_xmlns_key_hashes_like_the_same_prefix_in_the_context() -> None:
    declared = observe(ilmd={"example:batch": "4711", "@xmlns:example": EX})
    in_context = observe(ilmd={"example:batch": "4711"})
    assert event_hash(declared) == event_hash(in_context, [{"example": EX}])


# -- item 2: the same event from XML and from JSON-LD


def test_curie_values_in_xml_expand_like_json_ld() -> None:
    from_xml = parse_xml(
        xml(
            "<bizStep>ext1:summarising_discharge</bizStep><sensorElementList><sensorElement>"
            '<sensorReport type="ext1:dose" component="ext1:axis" value="2.5"/>'
            "</sensorElement></sensorElementList>",
            ext1=EXT1,
        )
    )
    report = {"type": "ext1:dose", "component": "ext1:axis", "value": 2.5}
    event = observe(
        bizStep="ext1:summarising_discharge", sensorElementList=[{"sensorReport": [report]}]
    )
    from_json = jsonld([event], {"ext1": EXT1})
    expected = (
        HEAD + f"action=OBSERVEbizStep={EXT1}summarising_discharge"
        f"sensorElementListsensorElementsensorReporttype={EXT1}dosevalue=2.5component={EXT1}axis"
    )
    assert [prehash(e, from_xml["@context"]) for e in from_xml["epcisBody"]["eventList"]] == [
        expected
    ]
    assert document_hashes(from_xml) == document_hashes(from_json)


def test_curie_value_takes_the_innermost_xml_declaration() -> None:
    from_xml = parse_xml(
        xml(
            '<bizStep xmlns:ext1="urn:example:steps:">ext1:dyeing</bizStep>'
            "<disposition>ext1:wet</disposition>",
            ext1=EXT1,
        )
    )
    event = from_xml["epcisBody"]["eventList"][0]
    assert (event["bizStep"], event["disposition"]) == ("urn:example:steps:dyeing", EXT1 + "wet")


def test_undeclared_prefix_in_xml_text_stays_as_written() -> None:
    event = parse_xml(xml("<bizStep>acme:tanning</bizStep>"))["epcisBody"]["eventList"][0]
    assert event["bizStep"] == "acme:tanning"


def test_master_data_namespace_is_one_form_in_both_syntaxes() -> None:
    from_xml = parse_xml(
        xml(
            "<ilmd><cbvmda:lotNumber>L7</cbvmda:lotNumber></ilmd>",
            cbvmda="urn:epcglobal:cbv:mda",
        )
    )
    written_with_colon = jsonld([observe(ilmd={"cbvmda:lotNumber": "L7"})])
    written_without = jsonld(
        [observe(ilmd={"cbvmda:lotNumber": "L7"})], {"cbvmda": "urn:epcglobal:cbv:mda"}
    )
    expected = HEAD + "action=OBSERVEilmd{urn:epcglobal:cbv:mda:}lotNumber=L7"
    assert prehash(from_xml["epcisBody"]["eventList"][0], from_xml["@context"]) == expected
    assert prehash(written_without["epcisBody"]["eventList"][0], written_without["@context"]) == (
        expected
    )
    hashes = document_hashes(from_xml)
    assert hashes == document_hashes(written_with_colon) == document_hashes(written_without)
    # The XML answers declare the same form, and read back to the same hash.
    answer = to_xml(from_xml)
    assert f'xmlns:cbvmda="{MDA}"'.encode() in answer
    assert document_hashes(parse_xml(answer)) == hashes


def test_bare_effective_dose_rate_is_the_gs1_measurement_type() -> None:
    bare = observe(sensorElementList=[{"sensorReport": [{"type": "EffectiveDoseRate"}]}])
    from_xml = parse_xml(
        xml(
            '<sensorElementList><sensorElement><sensorReport type="gs1:EffectiveDoseRate"/>'
            "</sensorElement></sensorElementList>",
            gs1="https://gs1.org/voc/",
        )
    )
    assert prehash(bare) == (
        HEAD + "action=OBSERVEsensorElementListsensorElementsensorReport"
        "type=https://gs1.org/voc/EffectiveDoseRate"
    )
    assert document_hashes(from_xml) == [event_hash(bare)]


def test_reference_keeps_xml_curie_values_where_cbv_expands_them() -> None:
    """epcis-event-hash-generator 1.9.3 disagrees; MICS follows CBV 2.0 §8.9 (any CURIE SHALL
    be expanded), which its own JSON-LD path does too."""
    from epcis_event_hash_generator import hash_generator, xml_to_py

    text = xml("<bizStep>ext1:summarising_discharge</bizStep>", ext1=EXT1).decode()
    events = xml_to_py.event_list_from_epcis_document_str(text)
    theirs = list(hash_generator.derive_prehashes_from_events(events))
    doc = parse_xml(text)
    ours = [prehash(e, doc["@context"]) for e in doc["epcisBody"]["eventList"]]
    assert theirs == [HEAD + "action=OBSERVEbizStep=ext1:summarising_discharge"]
    assert ours == [HEAD + f"action=OBSERVEbizStep={EXT1}summarising_discharge"]


# -- the property: one hash in JSON-LD, in XML, and after a capture -> query round trip


def syntax_variants(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """``event`` with what items 1 and 2 are about: CURIE values, cbvmda, bare types."""
    event = copy.deepcopy(event)
    if rng.random() < 0.5:
        event["bizStep"] = rng.choice(["ext1:summarising_discharge", "ext1:dyeing"])
    if rng.random() < 0.5:
        event.setdefault("ilmd", {})["cbvmda:lotNumber"] = rng.choice(["L7", "2026-A"])
    if rng.random() < 0.5:
        report: dict[str, Any] = {
            "type": rng.choice(["EffectiveDoseRate", "gs1:EffectiveDoseRate", "ext1:t"])
        }
        report |= {"value": rng.choice([1, 0.25]), "component": rng.choice(["x", "ext1:c"])}
        event["sensorElementList"] = [{"sensorReport": [report]}]
    return event


CONTEXT = ({"example": EX}, {"ext1": EXT1})
events = st.builds(
    lambda seed, twist: syntax_variants(generated_event(random.Random(seed)), random.Random(twist)),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
)


@settings(max_examples=60, deadline=None)
@given(events)
def test_json_ld_and_xml_forms_of_any_event_hash_equal(event: dict[str, Any]) -> None:
    doc = jsonld([event], *CONTEXT)
    from_json = document_hashes(doc)
    xml_form = parse_xml(to_xml(doc))
    assert document_hashes(xml_form) == from_json
    # And back again: the JSON-LD read from XML, written as XML once more.
    assert document_hashes(parse_xml(to_xml(xml_form))) == from_json
    # The XML as other writers write it: CURIE values, the master-data namespace without ":".
    assert document_hashes(parse_xml(other_writers_xml(to_xml(doc)))) == from_json


def other_writers_xml(written: bytes) -> bytes:
    text = written.decode()
    assert f'xmlns:ext1="{EXT1}"' in text
    text = re.sub(rf'(>|=")\s*{re.escape(EXT1)}(?=\w)', r"\1ext1:", text)
    return text.replace(f'xmlns:cbvmda="{MDA}"', 'xmlns:cbvmda="urn:epcglobal:cbv:mda"').encode()


ALL = query.Viewer(partner=None)


def round_trip(
    db: Database, document: bytes, binding: str, known: list[str]
) -> tuple[list[str], list[str]]:
    """Hashes of the query answer (JSON-LD, and XML read back) of the one event captured.

    ``known``: its id when an earlier example stored the same event (an event without
    eventID is known by its hash).
    """
    result = capture.capture_stream(db, io.BytesIO(document), binding, "op", now=LATER)
    [event_id] = result.event_ids or known
    page = query.run(db, {"EQ_eventID": event_id}, ALL)
    answer = {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    return document_hashes(answer), document_hashes(parse_xml(to_xml(answer)))


def capturable(draw: st.DrawFn) -> dict[str, Any]:
    """An ObjectEvent capture accepts, with what items 1 and 2 are about in its values."""
    serials = draw(st.lists(st.sampled_from(["A1", "b.2", "X-9", "77"]), max_size=3, unique=True))
    event = observe(epcList=[f"urn:epc:id:sgtin:8012345.000001.{s}" for s in serials])
    event["eventTime"] = draw(
        st.sampled_from(["2026-03-01T10:00:00.000+01:00", "2026-03-01T09:00:00.0004Z"])
    )
    event["bizStep"] = draw(
        st.sampled_from(["shipping", "ext1:summarising_discharge", "cbv:BizStep-receiving"])
    )
    if draw(st.booleans()):
        event["disposition"] = draw(st.sampled_from(["in_transit", "ext1:wet"]))
    event["readPoint"] = {"id": "urn:epc:id:sgln:8012345.00001.0"}
    ilmd = draw(st.dictionaries(st.sampled_from(["cbvmda:lotNumber", "example:batch"]),
        st.sampled_from(["L7", "4711", "ext1:grade"]), max_size=2))  # fmt: skip
    if ilmd:
        event |= {"action": "ADD", "ilmd": ilmd}
    if draw(st.booleans()):
        report: dict[str, Any] = {"type": draw(st.sampled_from(["Temperature", "ext1:dose"]))}
        report["value"] = draw(st.sampled_from([26, 2.5, -1]))
        report |= draw(st.sampled_from([{}, {"component": "x"}, {"component": "ext1:axis"}]))
        event["sensorElementList"] = [{"sensorReport": [report]}]
    if draw(st.booleans()):
        event["example:note"] = draw(st.sampled_from(["hello", "ext1:tag", "12.50"]))
    return event


LATER = datetime(2030, 1, 1, tzinfo=UTC)


@settings(
    max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.composite(capturable)(), st.sampled_from(["json", "xml"]))
def test_capture_and_query_keep_the_hash_in_either_syntax(
    sqlite_db: Database, event: dict[str, Any], binding: str
) -> None:
    ensure_instance(sqlite_db, "op")
    doc = jsonld([event], *CONTEXT)
    expected = document_hashes(doc)
    sent = json.dumps(doc).encode() if binding == "json" else to_xml(doc)
    as_json, as_xml = round_trip(sqlite_db, sent, binding, expected)
    assert as_json == as_xml == expected


@pytest.mark.parametrize("binding", ["json", "xml"])
def test_capture_and_query_keep_the_cbv_hash_of_curie_and_master_data_fields(
    db: Database, binding: str
) -> None:
    ensure_instance(db, "op")
    event = observe(action="ADD", ilmd={"cbvmda:lotNumber": "L7"}, bizStep="ext1:dyeing")
    doc = jsonld([event], {"ext1": EXT1})
    sent = json.dumps(doc).encode() if binding == "json" else to_xml(doc)
    expected = HEAD + f"action=ADDbizStep={EXT1}dyeingilmd{{{MDA}}}lotNumber=L7"
    as_json, as_xml = round_trip(db, sent, binding, [])
    assert as_json == as_xml == [_ni(expected)]


def _ni(text: str) -> str:
    return f"ni:///sha-256;{hashlib.sha256(text.encode()).hexdigest()}?ver=CBV2.0"


# -- capture of @xmlns: keys: stored as the event's own @context, the hash unchanged


CONVERTED = observe(
    action="ADD",
    ilmd={"@xmlns:example": "http://ns.example.com/epcis", "example:batch": "4711"},
    **{"ext:wrapper": {"@xmlns:ext": "urn:example:inner:", "ext:grade": "ext:A"}},
)


def test_lifted_declarations_keep_the_hash_and_leave_no_xmlns_key() -> None:
    lifted = lift_declarations(CONVERTED, [*EPCIS_CONTEXT, {"example": EX}])
    # "example" is the document's other namespace: the converted one gets a fresh prefix.
    assert lifted["@context"] == [
        {"example1": "http://ns.example.com/epcis", "ext": "urn:example:inner:"}
    ]
    assert lifted["ilmd"] == {"example1:batch": "4711"}
    assert lifted["ext:wrapper"] == {"ext:grade": "ext:A"}
    context = [{"example": EX}]
    assert event_hash(lifted, context) == event_hash(CONVERTED, context)
    assert prehash(CONVERTED, context) == (
        HEAD + "action=ADDilmd{http://ns.example.com/epcis}batch=4711"
        "{urn:example:inner:}wrapper{urn:example:inner:}grade=urn:example:inner:A"
    )


@pytest.mark.parametrize("via", ["document", "stream"])
def test_capture_accepts_xmlns_keys_and_answers_with_the_same_hash(db: Database, via: str) -> None:
    ensure_instance(db, "op")
    doc = jsonld([CONVERTED], {"example": EX})
    expected = document_hashes(doc)
    if via == "document":
        result = capture.capture_document(db, doc, "op", now=LATER)
    else:
        stream = io.BytesIO(json.dumps(doc).encode())
        result = capture.capture_stream(db, stream, "json", "op", now=LATER)
    assert result.event_ids == expected
    as_json, as_xml = round_trip(db, json.dumps(doc).encode(), "json", expected)
    assert as_json == as_xml == expected
