"""EPCIS 2.0 document validation: hand-written events of all five types, then the GS1
examples and broken variants of them checked against the official JSON Schema too."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

from mics.errors import InvalidInput
from mics.trace import cbv
from mics.trace.validate import DocumentInvalid, Problem, validate_document, validate_event

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
EVENTS = "/epcisBody/eventList"
Event = dict[str, Any]


def when() -> Event:
    return {"eventTime": "2024-05-31T08:00:00.000+02:00", "eventTimeZoneOffset": "+02:00"}


def object_event() -> Event:
    return {
        "type": "ObjectEvent",
        **when(),
        "action": "OBSERVE",
        "epcList": [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "https://id.gs1.org/01/09506000134352/21/7",
        ],
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
        "bizTransactionList": [{"type": "po", "bizTransaction": "http://example.com/po/1"}],
    }


def aggregation_event() -> Event:
    return {
        "type": "AggregationEvent",
        **when(),
        "action": "ADD",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "childQuantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 3}
        ],
        "bizStep": "packing",
    }


def association_event() -> Event:
    return {
        "type": "AssociationEvent",
        **when(),
        "action": "ADD",
        "parentID": "urn:epc:id:grai:4012345.55555.987",
        "childEPCs": ["urn:epc:id:giai:4000001.12345"],
        "bizStep": "assembling",
    }


def transaction_event() -> Event:
    return {
        "type": "TransactionEvent",
        **when(),
        "action": "ADD",
        "bizTransactionList": [
            {"type": "inv", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}
        ],
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2018"],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00225"}],
        "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:0614141.00777.0"}],
    }


def transformation_event() -> Event:
    return {
        "type": "TransformationEvent",
        **when(),
        "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
        "inputQuantityList": [
            {"epcClass": "urn:epc:idpat:sgtin:4012345.066666.*", "quantity": 220}
        ],
        "outputQuantityList": [
            {"epcClass": "https://id.gs1.org/01/04012345666663", "quantity": 12.5, "uom": "KGM"}
        ],
        "transformationID": "urn:uuid:7e1d6a4e-5d1c-4c1b-9d5a-1f3e2a1b0c9d",
        "ilmd": {"example:bestBefore": "2025-01-01"},
        "persistentDisposition": {"set": ["completeness_verified"]},
    }


MAKERS = [
    object_event,
    aggregation_event,
    association_event,
    transaction_event,
    transformation_event,
]


def document(*events: object, **header: Any) -> dict[str, Any]:
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"example": "https://ns.example.com/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-05-31T10:00:00Z",
        "epcisBody": {"eventList": list(events)},
        **header,
    }


def problems(doc: object) -> list[Problem]:
    with pytest.raises(DocumentInvalid) as caught:
        validate_document(doc, now=NOW)
    return list(caught.value.problems)


def pointers(doc: object) -> list[str]:
    return [p.pointer for p in problems(doc)]


def edited(base: Callable[[], Event] | Event, **changes: Any) -> Event:
    """A copy of ``base`` (or what it makes) with fields replaced; ``...`` removes a field."""
    event = copy.deepcopy(base) if isinstance(base, dict) else base()
    for key, value in changes.items():
        if value is ...:
            event.pop(key)
        else:
            event[key] = value
    return event


# --- the five event types --------------------------------------------------------


@pytest.mark.parametrize("make", MAKERS)
def test_a_valid_event_of_each_type_is_returned_unchanged(make: Callable[[], Event]) -> None:
    event = make()
    assert validate_document(document(event), now=NOW) == [make()]
    assert validate_event(event, 0, now=NOW, context=document()["@context"]) == []


def test_events_come_back_in_document_order() -> None:
    events = [maker() for maker in MAKERS]
    assert [e["type"] for e in validate_document(document(*events), now=NOW)] == [
        "ObjectEvent",
        "AggregationEvent",
        "AssociationEvent",
        "TransactionEvent",
        "TransformationEvent",
    ]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (object_event, "eventTime"),
        (object_event, "eventTimeZoneOffset"),
        (object_event, "action"),
        (aggregation_event, "action"),
        (association_event, "parentID"),
        (transaction_event, "action"),
        (transaction_event, "bizTransactionList"),
        (transformation_event, "eventTime"),
    ],
)
def test_a_missing_required_field_is_named(make: Callable[[], Event], field: str) -> None:
    found = problems(document(object_event(), edited(make, **{field: ...})))
    assert [(p.event_index, p.pointer, p.value) for p in found] == [
        (1, f"{EVENTS}/1/{field}", None)
    ]


@pytest.mark.parametrize(
    "make", [object_event, aggregation_event, association_event, transaction_event]
)
def test_action_must_be_add_observe_or_delete(make: Callable[[], Event]) -> None:
    [found] = problems(document(edited(make, action="MOVE")))
    assert (found.pointer, found.value) == (f"{EVENTS}/0/action", "MOVE")
    assert "'ADD', 'OBSERVE', 'DELETE'" in found.expected


def test_a_transformation_event_has_no_action() -> None:
    [found] = problems(document(edited(transformation_event, action="ADD")))
    assert (found.pointer, found.value) == (f"{EVENTS}/0/action", "ADD")


def test_ilmd_is_only_for_objects_being_added() -> None:
    ilmd = {"example:lot": "A1"}
    assert validate_document(document(edited(object_event, action="ADD", ilmd=ilmd)), now=NOW)
    assert pointers(document(edited(object_event, ilmd=ilmd))) == [f"{EVENTS}/0/ilmd"]


def test_an_object_event_must_name_what_it_saw() -> None:
    bare = edited(object_event, epcList=...)
    assert pointers(document(bare)) == [f"{EVENTS}/0/epcList"]
    assert validate_document(document(edited(object_event, epcList=[])), now=NOW)
    sensed = edited(
        bare, sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 4}]}]
    )
    assert validate_document(document(sensed), now=NOW)
    assert pointers(document(edited(sensed, readPoint=...))) == [f"{EVENTS}/0/epcList"]


def test_aggregation_add_or_delete_needs_a_parent_but_observe_does_not() -> None:
    assert pointers(document(edited(aggregation_event, parentID=...))) == [f"{EVENTS}/0/parentID"]
    delete = edited(aggregation_event, action="DELETE", parentID=...)
    assert pointers(document(delete)) == [f"{EVENTS}/0/parentID"]
    assert validate_document(
        document(edited(aggregation_event, action="OBSERVE", parentID=...)), now=NOW
    )


def test_children_are_needed_unless_the_action_is_delete() -> None:
    childless = edited(aggregation_event, childEPCs=[], childQuantityList=...)
    assert pointers(document(childless)) == [f"{EVENTS}/0/childEPCs"]
    assert validate_document(document(edited(childless, action="DELETE")), now=NOW)
    assoc = edited(association_event, childEPCs=...)
    assert pointers(document(assoc)) == [f"{EVENTS}/0/childEPCs"]


def test_a_transaction_needs_a_business_transaction_and_objects() -> None:
    assert pointers(document(edited(transaction_event, bizTransactionList=[]))) == [
        f"{EVENTS}/0/bizTransactionList"
    ]
    assert pointers(document(edited(transaction_event, epcList=...))) == [f"{EVENTS}/0/epcList"]
    assert validate_document(
        document(edited(transaction_event, action="DELETE", epcList=...)), now=NOW
    )


def test_a_transformation_needs_inputs_and_outputs_or_an_id() -> None:
    only_inputs = edited(transformation_event, outputQuantityList=...)
    assert validate_document(document(only_inputs), now=NOW)
    assert pointers(document(edited(only_inputs, transformationID=...))) == [
        f"{EVENTS}/0/inputEPCList"
    ]


def test_an_extension_event_type_uri_is_checked_for_common_fields_only() -> None:
    custom = {"type": "https://example.com/CustomEvent", **when(), "anything": [1, 2]}
    assert validate_document(document(custom), now=NOW) == [custom]
    assert pointers(document({**custom, "eventTime": "soon"})) == [f"{EVENTS}/0/eventTime"]
    assert pointers(document({**custom, "type": "CustomEvent"})) == [f"{EVENTS}/0/type"]


# --- the document around the events ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"@context": ...}, "/@context"),
        ({"schemaVersion": ...}, "/schemaVersion"),
        ({"schemaVersion": "two"}, "/schemaVersion"),
        ({"creationDate": "2024-05-31"}, "/creationDate"),
        ({"sender": 42}, "/sender"),
        ({"epcisBody": {"events": []}}, "/epcisBody/eventList"),
        ({"comment": "hi"}, "/comment"),
        ({"type": "EPCISDoc"}, "/type"),
        ({"@context": ["https://a.example/c", "https://a.example/c"]}, "/@context/1"),
        (
            {
                "epcisHeader": {
                    "epcisMasterData": {"vocabularyList": [{"vocabularyElementList": []}]}
                }
            },
            "/epcisHeader/epcisMasterData/vocabularyList/0/type",
        ),
    ],
)
def test_document_header_rules(change: dict[str, Any], pointer: str) -> None:
    doc = document(object_event())
    for key, value in change.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    found = problems(doc)
    assert [(p.event_index, p.pointer) for p in found] == [(None, pointer)]


def test_a_query_document_is_read_from_its_results_body() -> None:
    doc: dict[str, Any] = {
        "@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        "type": "EPCISQueryDocument",
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": [object_event()]},
            }
        },
    }
    assert validate_document(doc, now=NOW) == [object_event()]
    doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"].append(
        edited(object_event, action=...)
    )
    assert pointers(doc) == ["/epcisBody/queryResults/resultsBody/eventList/1/action"]
    del doc["epcisBody"]["queryResults"]["queryName"]
    assert "/epcisBody/queryResults/queryName" in pointers(doc)


def test_every_problem_in_the_document_is_collected_in_order() -> None:
    doc = document(
        object_event(),
        edited(object_event, bizStep="shipped"),
        edited(aggregation_event, action="MOVE", eventTime="2024-02-30T00:00:00Z"),
        "not an event",
        schemaVersion="x",
    )
    assert [(p.event_index, p.pointer) for p in problems(doc)] == [
        (None, "/schemaVersion"),
        (1, f"{EVENTS}/1/bizStep"),
        (2, f"{EVENTS}/2/eventTime"),
        (2, f"{EVENTS}/2/action"),
        (3, f"{EVENTS}/3"),
    ]


def test_problems_are_capped_at_one_hundred() -> None:
    doc = document(*[edited(object_event, bizStep="x", disposition="y")] * 80)
    found = problems(doc)
    assert len(found) == 100
    assert found[-1].pointer == f"{EVENTS}/49/disposition"


def test_document_invalid_is_an_invalid_input_that_names_the_first_fields() -> None:
    doc = document(*[edited(object_event, bizStep="shipped")] * 5)
    with pytest.raises(InvalidInput) as caught:
        validate_document(doc, now=NOW)
    error = caught.value
    assert isinstance(error, DocumentInvalid)
    assert error.field == f"{EVENTS}/0/bizStep"
    assert error.message.startswith(
        f"{EVENTS}/0/bizStep: got 'shipped', expected a CBV 2.0 business step"
    )
    assert "and 2 more problem(s)" in error.message
    body = error.problem()
    assert body["status"] == 422
    assert [p["pointer"] for p in body["problems"]] == [f"{EVENTS}/{i}/bizStep" for i in range(5)]
    assert body["problems"][0] == {
        "eventIndex": 0,
        "pointer": f"{EVENTS}/0/bizStep",
        "value": "shipped",
        "expected": error.expected,
    }


@pytest.mark.parametrize("doc", [None, [], "EPCISDocument", {"type": 2}])
def test_things_that_are_not_documents_are_refused(doc: object) -> None:
    assert [(p.event_index, p.pointer) for p in problems(doc)] == [(None, "/type")]


# --- the GS1 examples and the official JSON Schema ------------------------------------------

URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def _uri_format(value: object) -> bool:
    return not isinstance(value, str) or URI.fullmatch(value) is not None


def _date_time_format(value: object) -> bool:
    """RFC 3339 date-time as ajv-formats checks it: the form, then a real date and time."""
    if not isinstance(value, str):
        return True
    if DATE_TIME.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@cache
def official_schema(folder: Path) -> jsonschema.Draft7Validator:
    """The GS1 root schema with the files it references, checking uri and date-time formats."""
    resources = []
    for path in [*folder.glob("*.json"), *folder.glob("schemas/*.json")]:
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    formats = jsonschema.FormatChecker(formats=())
    formats.checks("uri")(_uri_format)
    formats.checks("date-time")(_date_time_format)
    root = json.loads((folder / "EPCIS-JSON-Schema-root.json").read_text())
    return jsonschema.Draft7Validator(
        root, registry=Registry().with_resources(resources), format_checker=formats
    )


def examples(shared: Any) -> dict[str, dict[str, Any]]:
    """The GS1 example documents by path under JSON/ (fresh copies: tests may edit them)."""
    return copy.deepcopy(_examples(shared.path("gs1-epcis", "JSON")))


@cache
def _examples(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        str(p.relative_to(folder)): json.loads(p.read_text())
        for p in sorted(folder.rglob("*.jsonld"))
    }


def test_every_gs1_example_the_schema_accepts_is_accepted(shared: Any) -> None:
    schema = official_schema(shared.path("gs1-epcis", "JSON-Schema"))
    accepted = {name: doc for name, doc in examples(shared).items() if schema.is_valid(doc)}
    assert len(accepted) >= 40
    refused = {}
    for name, doc in accepted.items():
        try:
            validate_document(doc, now=NOW)
        except DocumentInvalid as error:
            refused[name] = error.message
    assert refused == {}


def _drop(*fields: str) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        for field in fields:
            del event[field]

    return change


def _set(field: str, value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        event[field] = copy.deepcopy(value)

    return change


def _first_quantity(field: str, value: Any) -> Callable[[Event], None]:
    def change(event: Event) -> None:
        event["quantityList"][0][field] = value

    return change


def _fractional_count(event: Event) -> None:
    event["quantityList"][0] = {
        "epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
        "quantity": 2.5,
    }


def _add_without_parent(event: Event) -> None:
    event["action"] = "ADD"
    del event["parentID"]


OBJECT = "Example_9.6.1-ObjectEvent.jsonld"
FULL_OBJECT = "WithFullCombinationOfFields/object_event_all_possible_fields.jsonld"
AGGREGATION = "Example_9.6.3-AggregationEvent.jsonld"
TRANSFORMATION = "Example_9.6.4-TransformationEvent.jsonld"
ASSOCIATION = "AssociationEvent/AssociationEvent-a.jsonld"
TRANSACTION = "WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld"
DIGITAL_LINK = "WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld"
SENSOR = "WithSensorData/SensorDataExample1.jsonld"

# (example, event index, change, field the problem must point at)
BOTH_REFUSE = [
    (OBJECT, 1, _drop("eventTime"), "eventTime"),
    (OBJECT, 1, _drop("eventTimeZoneOffset"), "eventTimeZoneOffset"),
    (OBJECT, 0, _drop("action"), "action"),
    (OBJECT, 0, _set("action", "MOVE"), "action"),
    (OBJECT, 1, _set("eventTime", "2005-13-04T20:33:31.116-06:00"), "eventTime"),
    (OBJECT, 1, _set("eventTime", "2005-02-30T20:33:31.116-06:00"), "eventTime"),
    (OBJECT, 1, _set("eventTime", "2005-04-04T20:33:31"), "eventTime"),
    (OBJECT, 0, _set("eventTimeZoneOffset", "+15:00"), "eventTimeZoneOffset"),
    (OBJECT, 0, _set("bizStep", "shipped"), "bizStep"),
    (OBJECT, 0, _set("disposition", "on_the_road"), "disposition"),
    (OBJECT, 0, _set("epcList", ["0614141.107346.2017"]), "epcList/0"),
    (OBJECT, 0, _set("epcList", "urn:epc:id:sgtin:0614141.107346.2017"), "epcList"),
    (OBJECT, 1, _set("readPoint", {"name": "dock"}), "readPoint/id"),
    (OBJECT, 1, _set("myField", "no prefix"), "myField"),
    (OBJECT, 0, _set("ilmd", {"example:lot": "1"}), "ilmd"),
    (
        OBJECT,
        0,
        _set("errorDeclaration", {"reason": "incorrect_data"}),
        "errorDeclaration/declarationTime",
    ),
    (
        OBJECT,
        0,
        _set("bizTransactionList", [{"type": "po"}]),
        "bizTransactionList/0/bizTransaction",
    ),
    (FULL_OBJECT, 0, _first_quantity("quantity", "200"), "quantityList/0/quantity"),
    (FULL_OBJECT, 0, _first_quantity("uom", "kilogram"), "quantityList/0/uom"),
    (FULL_OBJECT, 0, _first_quantity("unit", "KGM"), "quantityList/0/unit"),
    (FULL_OBJECT, 0, _set("persistentDisposition", {"set": []}), "persistentDisposition/set"),
    (
        FULL_OBJECT,
        0,
        _set("sourceList", [{"source": "urn:epc:id:pgln:4012345.00225"}]),
        "sourceList/0/type",
    ),
    (
        SENSOR,
        0,
        _set("sensorElementList", [{"sensorReport": [{"value": 1}]}]),
        "sensorElementList/0/sensorReport/0/type",
    ),
    (AGGREGATION, 0, _drop("childEPCs", "childQuantityList"), "childEPCs"),
    (ASSOCIATION, 0, _drop("parentID"), "parentID"),
    (TRANSACTION, 0, _set("bizTransactionList", []), "bizTransactionList"),
    (TRANSFORMATION, 0, _set("action", "ADD"), "action"),
]


@pytest.mark.parametrize(("name", "index", "change", "field"), BOTH_REFUSE)
def test_broken_examples_are_refused_by_the_schema_and_by_us(
    shared: Any, name: str, index: int, change: Callable[[Event], None], field: str
) -> None:
    schema = official_schema(shared.path("gs1-epcis", "JSON-Schema"))
    doc = examples(shared)[name]
    assert schema.is_valid(doc)
    change(doc["epcisBody"]["eventList"][index])
    assert not schema.is_valid(doc)
    found = problems(doc)
    assert (found[0].event_index, found[0].pointer) == (index, f"{EVENTS}/{index}/{field}")


BEYOND_SCHEMA = [
    (
        DIGITAL_LINK,
        0,
        _set("epcList", ["https://id.gs1.org/01/70614141123452/21/2017"]),
        "epcList/0",
    ),
    (OBJECT, 0, _set("epcList", ["urn:epc:id:sgtin:0614141.10734.2017"]), "epcList/0"),
    (OBJECT, 0, _set("epcList", ["urn:epc:class:lgtin:4012345.012345.998877"]), "epcList/0"),
    (FULL_OBJECT, 0, _fractional_count, "quantityList/0/quantity"),
    (AGGREGATION, 0, _add_without_parent, "parentID"),
    (OBJECT, 0, _set("bizStep", "https://ref.gs1.org/cbv/BizStep-shipped"), "bizStep"),
]


@pytest.mark.parametrize(("name", "index", "change", "field"), BEYOND_SCHEMA)
def test_rules_beyond_the_schema_refuse_what_it_lets_through(
    shared: Any, name: str, index: int, change: Callable[[Event], None], field: str
) -> None:
    schema = official_schema(shared.path("gs1-epcis", "JSON-Schema"))
    doc = examples(shared)[name]
    event = doc["epcisBody"]["eventList"][index]
    change(event)
    assert schema.is_valid(doc)
    found = problems(doc)
    assert (found[0].event_index, found[0].pointer) == (index, f"{EVENTS}/{index}/{field}")


def test_cbv_urns_are_accepted_although_the_json_schema_wants_bare_terms(shared: Any) -> None:
    schema = official_schema(shared.path("gs1-epcis", "JSON-Schema"))
    doc = examples(shared)[OBJECT]
    doc["epcisBody"]["eventList"][0]["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"
    assert not schema.is_valid(doc)
    assert validate_document(doc, now=NOW)[0]["bizStep"] == "urn:epcglobal:cbv:bizstep:shipping"


@pytest.mark.parametrize(
    ("file", "definition", "vocabulary"),
    [
        ("bizStep", "bizStep", cbv.BIZ_STEP),
        ("disposition", "disposition", cbv.DISPOSITION),
        ("bizTransaction-type", "bizTransaction-type", cbv.BIZ_TRANSACTION_TYPE),
        ("source-dest-type", "source-dest-type", cbv.SOURCE_DESTINATION_TYPE),
        ("error-reason", "error-reason", cbv.ERROR_REASON),
        ("measurement-type", "measurementType", cbv.MEASUREMENT_TYPE),
        ("sensor-alert-type", "sensorAlertType", cbv.SENSOR_ALERT_TYPE),
        ("component", "component", cbv.COMPONENT),
    ],
)
def test_cbv_tables_hold_the_terms_the_schema_lists(
    shared: Any, file: str, definition: str, vocabulary: cbv.Vocabulary
) -> None:
    path = shared.path("gs1-epcis", "JSON-Schema", "schemas", f"{file}-JSON-Schema.json")
    listed = json.loads(path.read_text())["definitions"][definition]["anyOf"][1]["enum"]
    assert vocabulary.terms == frozenset(listed)
