"""The field rules of EPCIS 2.0 events: times, identifiers, CBV terms, quantities,
extensions, sensor data, error declarations and persistent dispositions."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mics.trace import cbv
from mics.trace.validate import validate_event

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
EVENTS = "/epcisBody/eventList"
EXAMPLE = [{"example": "https://ns.example.com/epcis/"}]  # a document's @context
PLACE = {"id": "urn:epc:id:sgln:4012345.00001.0"}
Event = dict[str, Any]


def object_event() -> Event:
    return {
        "type": "ObjectEvent",
        "eventTime": "2024-05-31T08:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
    }


def transaction_event() -> Event:
    return {
        "type": "TransactionEvent",
        "eventTime": "2024-05-31T08:00:00.000+02:00",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "bizTransactionList": [{"type": "inv", "bizTransaction": "https://example.com/inv/1"}],
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
    }


def edited(make: Callable[[], Event], **changes: Any) -> Event:
    """An event from ``make`` with fields replaced; a value of ``...`` removes the field."""
    event = make()
    for key, value in changes.items():
        if value is ...:
            del event[key]
        else:
            event[key] = value
    return event


# --- times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time", "says"),
    [
        ("2024-13-01T00:00:00Z", "month must be in 1..12"),
        ("2023-02-29T10:00:00+01:00", "day is out of range"),
        ("2024-02-30T10:00:00+01:00", "day is out of range"),
        ("2024-01-01T24:00:00Z", "hour must be in 0..23"),
        ("2024-01-01T10:61:00Z", "minute must be in 0..59"),
        ("2024-01-01T10:00:00", "with an offset"),
        ("2024-01-01 10:00:00Z", "RFC 3339"),
        ("2024-01-01T10:00:00+15:00", "-14:00 to +14:00"),
        ("2024-01-01T10:00:00+05:75", "minutes 00-59"),
        ("1717200000", "RFC 3339"),
    ],
)
def test_impossible_or_malformed_event_times_are_refused(time: str, says: str) -> None:
    [found] = validate_event(edited(object_event, eventTime=time), 1, now=NOW)
    assert (found.event_index, found.pointer, found.value) == (1, f"{EVENTS}/1/eventTime", time)
    assert says in found.expected


@pytest.mark.parametrize(
    "time",
    [
        "2024-06-02T11:59:59Z",
        "2024-02-29T23:59:59.123456789-14:00",
        "1999-12-31t23:59:59z",
        "2024-06-03T12:00:01Z",  # a day and a second ahead: refused before issue 20 item 6
        "2099-01-01T00:00:00+01:00",  # a planned event
    ],
)
def test_real_times_past_or_future_are_accepted(time: str) -> None:
    assert validate_event(edited(object_event, eventTime=time), 0, now=NOW) == []


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        ("+14:00", True),
        ("-14:00", True),
        ("+05:45", True),
        ("+14:30", False),
        ("+05:60", False),
        ("0100", False),
        ("+1:00", False),
        ("Z", False),
    ],
)
def test_event_time_zone_offset_is_within_fourteen_hours(offset: str, ok: bool) -> None:
    found = validate_event(edited(object_event, eventTimeZoneOffset=offset), 2, now=NOW)
    assert [p.pointer for p in found] == ([] if ok else [f"{EVENTS}/2/eventTimeZoneOffset"])


def test_other_times_are_checked_for_form_but_may_lie_ahead() -> None:
    event = edited(object_event, recordTime="2030-01-01T00:00:00Z")
    event["errorDeclaration"] = {"declarationTime": "2024-02-30T00:00:00Z"}
    assert [p.pointer for p in validate_event(event, 0, now=NOW)] == [
        f"{EVENTS}/0/errorDeclaration/declarationTime"
    ]


# --- identifiers -------------------------------------------------------------------


def test_an_epc_with_a_wrong_check_digit_is_pointed_at() -> None:
    bad = edited(
        object_event,
        epcList=["urn:epc:id:sgtin:0614141.107346.1", "https://id.gs1.org/01/09506000134353"],
    )
    [found] = validate_event(bad, 0, now=NOW)
    assert (found.pointer, found.value) == (
        f"{EVENTS}/0/epcList/1",
        "https://id.gs1.org/01/09506000134353",
    )
    assert "check digit 2" in found.expected


@pytest.mark.parametrize(
    ("field", "value", "pointer"),
    [
        ("epcList", ["urn:epc:class:lgtin:4012345.012345.998877"], "epcList/0"),
        ("epcList", ["0614141.107346.2017"], "epcList/0"),
        ("epcList", ["urn:epc:id:sgtin:0614141.107346.1"] * 2, "epcList/1"),
        ("epcList", "urn:epc:id:sgtin:0614141.107346.1", "epcList"),
        (
            "quantityList",
            [{"epcClass": "urn:epc:id:sgtin:0614141.107346.1", "quantity": 1}],
            "quantityList/0/epcClass",
        ),
        ("readPoint", {"id": "urn:epc:id:sgtin:0614141.107346.1"}, "readPoint/id"),
        ("readPoint", {"name": "dock 4"}, "readPoint/id"),
        ("bizLocation", {"id": "urn:epc:id:sgln:0614141.0734.0"}, "bizLocation/id"),
    ],
)
def test_identifiers_must_be_of_the_right_kind(field: str, value: Any, pointer: str) -> None:
    found = validate_event(edited(object_event, **{field: value}), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/{pointer}"]


def test_user_vocabulary_uris_are_accepted_as_identifiers() -> None:
    event = edited(
        object_event,
        epcList=[
            "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd",
            "https://example.com/obj/8675ABC",
        ],
        readPoint={"id": "https://local.example.com/loc/3114257", "example:note": "dock"},
    )
    assert validate_event(event, 0, now=NOW, context=EXAMPLE) == []


# --- CBV vocabularies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("shipping", True),
        ("https://ref.gs1.org/cbv/BizStep-shipping", True),
        ("cbv:BizStep-shipping", True),
        ("urn:epcglobal:cbv:bizstep:shipping", True),
        ("https://example.com/steps/cutting", True),
        ("shipped", False),
        ("Shipping", False),
        ("https://ref.gs1.org/cbv/BizStep-shipped", False),
        ("urn:epcglobal:cbv:bizstep:shipped", False),
        ("https://ns.gs1.org/cbv/BizStep-shipping", False),
        (7, False),
    ],
)
def test_biz_step_is_a_cbv_term_or_a_user_uri(value: object, ok: bool) -> None:
    found = validate_event(edited(object_event, bizStep=value), 0, now=NOW)
    assert [p.pointer for p in found] == ([] if ok else [f"{EVENTS}/0/bizStep"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("disposition", "in_transport"),
        ("bizTransactionList", [{"type": "purchase_order", "bizTransaction": "urn:x:1"}]),
        ("sourceList", [{"type": "owner", "source": "urn:epc:id:pgln:4012345.00225"}]),
        ("persistentDisposition", {"unset": ["sold"]}),
    ],
)
def test_unknown_bare_words_are_refused_in_every_cbv_field(field: str, value: Any) -> None:
    [found] = validate_event(edited(object_event, **{field: value}), 0, now=NOW)
    assert found.pointer.startswith(f"{EVENTS}/0/{field}")
    assert "CBV 2.0" in found.expected


def test_vocabulary_maps_every_spelling_to_the_bare_term() -> None:
    spellings = [
        "in_transit",
        "https://ref.gs1.org/cbv/Disp-in_transit",
        "urn:epcglobal:cbv:disp:in_transit",
    ]
    assert {cbv.DISPOSITION.term(s) for s in spellings} == {"in_transit"}
    assert cbv.DISPOSITION.term("https://example.com/in_transit") is None
    assert cbv.MEASUREMENT_TYPE.term("gs1:Temperature") == "Temperature"


# --- quantities ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        ({"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 2.5}, "quantity"),
        (
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": "10", "uom": "KGM"},
            "quantity",
        ),
        ({"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": True}, "quantity"),
        (
            {
                "epcClass": "urn:epc:class:lgtin:4012345.012345.1",
                "quantity": math.nan,
                "uom": "KGM",
            },
            "quantity",
        ),
        ({"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 1, "uom": "kg"}, "uom"),
        ({"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "uom": "KGM"}, "uom"),
        (
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 1, "unit": "KGM"},
            "unit",
        ),
        ({"quantity": 1}, "epcClass"),
    ],
)
def test_quantity_rules(element: dict[str, Any], pointer: str) -> None:
    found = validate_event(edited(object_event, quantityList=[element]), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/quantityList/0/{pointer}"]


@pytest.mark.parametrize(
    "element", [{"quantity": 3}, {"quantity": 3.0}, {"quantity": 2.5, "uom": "KGM"}, {}]
)
def test_counts_measures_and_bare_classes_are_accepted(element: dict[str, Any]) -> None:
    quantity = {"epcClass": "https://id.gs1.org/01/09506000134352/10/LOT1", **element}
    assert validate_event(edited(object_event, quantityList=[quantity]), 0, now=NOW) == []


# --- extensions, sensors, errors, dispositions ---------------------------------------------


def test_extension_fields_need_a_namespace_prefix() -> None:
    extended = edited(object_event, **{"example:myField": {"x": 1}})
    assert validate_event(extended, 0, now=NOW, context=EXAMPLE) == []
    found = validate_event(edited(object_event, myField=1, parentID="urn:x:1"), 4, now=NOW)
    assert [(p.event_index, p.pointer) for p in found] == [
        (4, f"{EVENTS}/4/myField"),
        (4, f"{EVENTS}/4/parentID"),
    ]


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        # "foo" is in no @context: every XML answer holding the event failed (issue 13)
        ({"foo:bar": 1}, "foo:bar"),
        ({"ilmd": {"foo:bar": 1}}, "ilmd/foo:bar"),
        ({"example:x": {"foo:bar": 1}}, "example:x/foo:bar"),
        ({"example:x": [{"a": [{"foo:bar": 1}]}]}, "example:x/0/a/0/foo:bar"),
        ({"readPoint": PLACE | {"foo:bar": 1}}, "readPoint/foo:bar"),
        ({"sensorElementList": [{"sensorReport": [{"type": "Length", "foo:bar": 1}]}]},
         "sensorElementList/0/sensorReport/0/foo:bar"),
        ({"https://ns.example.com/epcis/x": 1}, "https:~1~1ns.example.com~1epcis~1x"),
        # no names at all: XML has no element for them, JSON-LD no term
        ({"example:x": {"a b": 1}}, "example:x/a b"),
        ({"example:x": {"@id": "urn:x:1"}}, "example:x/@id"),
        ({"example:x": {"1st": 1}}, "example:x/1st"),
        ({"example:1st": 1}, "example:1st"),
    ],
)  # fmt: skip
def test_extension_keys_need_a_declared_prefix_and_a_name(
    changes: dict[str, Any], pointer: str
) -> None:
    event = edited(object_event, action="ADD", **changes)
    found = validate_event(event, 2, now=NOW, context=EXAMPLE)
    key = pointer.rsplit("/", 1)[-1].replace("~1", "/")
    assert [(p.pointer, p.value) for p in found] == [(f"{EVENTS}/2/{pointer}", key)]


def test_an_events_own_context_declares_prefixes_too() -> None:
    event = edited(object_event, **{"@context": [{"own": "https://own.example/"}], "own:x": 1})
    assert validate_event(event, 0, now=NOW) == []
    assert validate_event(edited(object_event, **{"own:x": 1}), 0, now=NOW) != []
    assert validate_event(edited(object_event, **{"cbvmda:lotNumber": "7"}), 0, now=NOW) == []
    slash = validate_event(edited(object_event, **{"a/b": 1}), 0, now=NOW)
    assert [p.pointer for p in slash] == [f"{EVENTS}/0/a~1b"]
    assert [
        p.pointer for p in validate_event(edited(object_event, action="ADD", ilmd={"lot": 1}), 0)
    ] == [f"{EVENTS}/0/ilmd/lot"]


@pytest.mark.parametrize(
    ("element", "pointer"),
    [
        ({}, "sensorReport"),
        ({"sensorReport": []}, "sensorReport"),
        ({"sensorReport": [{"value": 4}]}, "sensorReport/0/type"),
        ({"sensorReport": [{"type": "Temp"}]}, "sensorReport/0/type"),
        ({"sensorReport": [{"type": "https://gs1.org/voc/Temperature"}]}, "sensorReport/0/type"),
        (
            {"sensorReport": [{"type": "Temperature", "booleanValue": "yes"}]},
            "sensorReport/0/booleanValue",
        ),
        (
            {"sensorReport": [{"type": "Temperature", "hexBinaryValue": "xyz"}]},
            "sensorReport/0/hexBinaryValue",
        ),
        (
            {"sensorReport": [{"type": "Temperature", "exception": "ALARM"}]},
            "sensorReport/0/exception",
        ),
        ({"sensorReport": [{"type": "Temperature", "component": "w"}]}, "sensorReport/0/component"),
        ({"sensorReport": [{"type": "Temperature", "value": "4"}]}, "sensorReport/0/value"),
        ({"sensorReport": [{"type": "Temperature", "unit": "CEL"}]}, "sensorReport/0/unit"),
        (
            {"sensorMetadata": {"startTime": "noon"}, "sensorReport": [{"type": "Mass"}]},
            "sensorMetadata/startTime",
        ),
    ],
)
def test_sensor_element_rules(element: dict[str, Any], pointer: str) -> None:
    found = validate_event(edited(object_event, sensorElementList=[element]), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/sensorElementList/0/{pointer}"]


def test_a_full_sensor_element_is_accepted() -> None:
    element = {
        "sensorMetadata": {
            "time": "2024-05-31T08:00:00Z",
            "deviceID": "urn:epc:id:giai:4000001.111",
        },
        "sensorReport": [
            {"type": "Temperature", "value": 4.5, "uom": "CEL", "exception": "ALARM_CONDITION"},
            {
                "type": "example:Gas",
                "stringValue": "ok",
                "booleanValue": True,
                "hexBinaryValue": "0f",
            },
            {"type": "Length", "component": "latitude", "value": 45.4, "example:note": "gps"},
        ],
        "example:batch": "7",
    }
    sensed = edited(object_event, sensorElementList=[element])
    assert validate_event(sensed, 0, now=NOW, context=EXAMPLE) == []


@pytest.mark.parametrize(
    ("declaration", "pointer"),
    [
        ({"reason": "did_not_occur"}, "declarationTime"),
        ({"declarationTime": "2024-05-31T09:00:00Z", "reason": "wrong"}, "reason"),
        (
            {"declarationTime": "2024-05-31T09:00:00Z", "correctiveEventIDs": ["x"]},
            "correctiveEventIDs/0",
        ),
        ({"declarationTime": "2024-05-31T09:00:00Z", "note": "typo"}, "note"),
    ],
)
def test_error_declaration_rules(declaration: dict[str, Any], pointer: str) -> None:
    found = validate_event(edited(object_event, errorDeclaration=declaration), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/errorDeclaration/{pointer}"]


@pytest.mark.parametrize(
    ("value", "pointer"),
    [
        ({}, ""),
        ({"set": []}, "/set"),
        ({"set": ["active", "active"]}, "/set/1"),
        ({"set": ["active"], "add": ["active"]}, "/add"),
    ],
)
def test_persistent_disposition_rules(value: dict[str, Any], pointer: str) -> None:
    found = validate_event(edited(object_event, persistentDisposition=value), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/persistentDisposition{pointer}"]


def test_source_and_destination_need_type_and_party() -> None:
    event = edited(
        transaction_event,
        sourceList=[{"source": "urn:epc:id:pgln:4012345.00225"}],
        destinationList=[{"type": "location", "destination": "dock 4"}],
    )
    assert [p.pointer for p in validate_event(event, 0, now=NOW)] == [
        f"{EVENTS}/0/sourceList/0/type",
        f"{EVENTS}/0/destinationList/0/destination",
    ]


def test_certification_info_is_a_uri_or_a_list_of_uris() -> None:
    ok = [
        "https://example.org/cert/1",
        ["https://example.org/cert/1", "https://example.org/cert/2"],
    ]
    assert all(
        validate_event(edited(object_event, certificationInfo=c), 0, now=NOW) == [] for c in ok
    )
    found = validate_event(edited(object_event, certificationInfo=["cert 1"]), 0, now=NOW)
    assert [p.pointer for p in found] == [f"{EVENTS}/0/certificationInfo/0"]
