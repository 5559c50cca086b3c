"""The XML writer answers for any stored event: well-formed, namespaces declared (issue 13 item 8).

An event captured with an undeclared prefix made every XML answer that held it a 422, for
everyone who could see it. Whatever an event holds, ``to_xml`` now writes XML that a
namespace-aware parser reads; what capture accepts keeps its event hash there and back.
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import EPCIS_CONTEXT

from mics.trace.event_hash import event_hash
from mics.trace.names import xml_name
from mics.trace.xml_binding import parse_xml, to_xml

EXAMPLE = {"example": "https://ns.example.com/epcis/"}


def answer(events: list[Any], context: list[Any] | None = None) -> dict[str, Any]:
    results = {"queryName": "SimpleEventQuery", "resultsBody": {"eventList": events}}
    return {
        "@context": context or [*EPCIS_CONTEXT],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {"queryResults": results},
    }


def read_with_namespaces(xml: bytes) -> None:
    """Raise unless ``xml`` is well-formed with every prefix declared (Namespaces in XML)."""
    parser = expat.ParserCreate(namespace_separator="\x01")  # a character no XML text holds
    parser.Parse(xml, True)


OBJECT: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "OBSERVE",
    "eventTime": "2026-06-02T10:00:00.000+02:00",
    "eventTimeZoneOffset": "+02:00",
    "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00778"],
}

keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["foo:bar", "example:x", "xsi:type", "xmlns", "xmlns:a", "#text", "1st"]),
    st.builds(lambda a, b: f"{a}:{b}", st.text(max_size=5), st.text(max_size=5)),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
    allow_infinity=False), st.text(max_size=12))  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=12,
)
contexts = st.lists(
    st.one_of(st.sampled_from(EPCIS_CONTEXT), st.dictionaries(st.text(max_size=6), st.text())),
    max_size=3,
)
types = st.one_of(
    st.sampled_from(["ObjectEvent", "AggregationEvent", "https://ns.example.com/MyEvent"]),
    st.text(max_size=10),
)
fields = st.sampled_from(
    [
        "ilmd",
        "readPoint",
        "sensorElementList",
        "bizTransactionList",
        "destinationList",
        "quantityList",
        "epcList",
        "errorDeclaration",
        "persistentDisposition",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(st.one_of(keys, fields), values, max_size=6),
    types,
    contexts,
    contexts,
)
def test_any_stored_event_is_written_as_namespace_well_formed_xml(
    extra: dict[str, Any], kind: str, context: list[Any], own: list[Any]
) -> None:
    event = {**OBJECT, **extra, "type": kind}
    if own:
        event["@context"] = own
    read_with_namespaces(to_xml(answer([event], [*EPCIS_CONTEXT, *context])))


def test_an_undeclared_prefix_is_written_as_the_iri_json_ld_reads() -> None:
    xml = to_xml(answer([OBJECT | {"foo:bar": "1"}]))
    read_with_namespaces(xml)
    assert b'<foo:bar xmlns:foo="foo:">1</foo:bar>' in xml


def test_an_extension_event_type_is_an_element_in_its_namespace() -> None:
    xml = to_xml(answer([OBJECT | {"type": "https://ns.example.com/epcis/MyEvent"}]))
    read_with_namespaces(xml)
    assert b'<ext0:MyEvent xmlns:ext0="https://ns.example.com/epcis/">' in xml


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    xml = to_xml(answer([OBJECT | {"example:x": "a\x01b\ufffe"}], [*EPCIS_CONTEXT, EXAMPLE]))
    read_with_namespaces(xml)
    assert "<example:x>a\ufffdb\ufffd</example:x>".encode() in xml


def test_declared_extensions_keep_their_hash_there_and_back() -> None:
    context = [*EPCIS_CONTEXT, EXAMPLE]
    event = OBJECT | {"example:x": {"example:y": "1", "z": ["2", "3"]}, "ilmd": {"example:l": "L"}}
    event["action"] = "ADD"
    back = parse_xml(to_xml(answer([event], context)))
    [read] = back["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert event_hash(read, back["@context"]) == event_hash(event, context)


def test_names_map_keys_one_to_one() -> None:
    keys = ["a b", "a_x0020_b", "1st", "_x0031_st", "", "_", "xmlns", "é", "x:é", "x:_xE9_"]
    written = [xml_name(key, {"x": "https://x.example/"})[0] for key in keys]
    assert len(set(written)) == len(keys)
