"""Validation of EPCIS 2.0 JSON-LD documents before they are captured.

``validate_document`` checks an EPCISDocument or EPCISQueryDocument against the
rules of the EPCIS 2.0 JSON Schema (the GS1 EPCIS 2.0 JSON/JSON-LD binding:
``EPCIS-JSON-Schema-root.json``, ``EPCIS-Document-JSON-Schema.json`` and the
per-event files), written here as code, and against what a schema cannot say
(see ``mics.trace.field_checks``): real times (a future one too: EPCIS 2.0 has no
rule against it), valid identifiers and check digits, CBV 2.0 terms, whole-number
counts. It also requires an AggregationEvent with action ADD or DELETE to name its
``parentID`` (EPCIS 2.0 §7.4.3, AggregationEvent: parentID is optional only for OBSERVE).

Per event type (EPCIS 2.0 §7.4), as the JSON Schema has it:

=================== ======== ===================================================
event               action   what it must name
=================== ======== ===================================================
ObjectEvent         required an epcList (may be empty), a non-empty quantityList,
                             or sensor data with a readPoint; ilmd only on ADD
AggregationEvent    required children (childEPCs or childQuantityList) unless DELETE
AssociationEvent    required a parentID, and children unless DELETE
TransactionEvent    required bizTransactionList (1+), an epcList or quantities unless DELETE
TransformationEvent absent   inputs and outputs, or a transformationID and either
=================== ======== ===================================================

Every problem in a document is collected (up to ``MAX_PROBLEMS``), each with the
event index, the JSON pointer of the field, the value found and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from mics.errors import InvalidInput
from mics.trace import cbv
from mics.trace import field_checks as check
from mics.trace.field_checks import Problem, parse_timestamp
from mics.trace.identifier_syntax import is_absolute_uri

__all__ = [
    "MAX_PROBLEMS",
    "DocumentInvalid",
    "Problem",
    "parse_timestamp",
    "validate_document",
    "validate_event",
]

MAX_PROBLEMS = 100
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "AssociationEvent",
    "TransactionEvent",
    "TransformationEvent",
)
DOCUMENT_EVENTS = "/epcisBody/eventList"
QUERY_EVENTS = "/epcisBody/queryResults/resultsBody/eventList"
_VERSION = re.compile(r"\d+(\.\d+)*")


class DocumentInvalid(InvalidInput):
    """An EPCIS document that breaks one or more rules; ``problems`` lists them all."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0]
        shown = "; ".join(str(p) for p in self.problems[:3])
        more = len(self.problems) - 3
        tail = f"; and {more} more problem(s)" if more > 0 else ""
        super().__init__(
            f"{shown}{tail}. Fix these fields and send the document again.",
            field=first.pointer,
            value=first.value,
            expected=first.expected,
            problems=[p.as_dict() for p in self.problems],
        )


def validate_document(
    doc: object, *, now: datetime | None = None, binding: str = "json"
) -> list[dict[str, Any]]:
    """The events of an EPCIS(Query)Document, in order, or raise ``DocumentInvalid``;
    ``binding``: the syntax it came in (``json`` or ``xml``), where their schemas differ."""
    now = _aware(now)
    context = _get(doc, "@context")
    report = check.Findings(None, now, (context,))
    events = _document(report, doc)
    problems = list(report.problems)
    base = QUERY_EVENTS if _get(doc, "type") == "EPCISQueryDocument" else DOCUMENT_EVENTS
    for index, event in enumerate(events):
        if len(problems) >= MAX_PROBLEMS:
            break
        problems += validate_event(
            event, index, now=now, base=base, context=context, binding=binding
        )
    if problems:
        raise DocumentInvalid(problems[:MAX_PROBLEMS])
    return events


def validate_event(
    event: object,
    index: int,
    *,
    now: datetime | None = None,
    base: str = DOCUMENT_EVENTS,
    context: Any = None,
    binding: str = "json",
) -> list[Problem]:
    """Every problem with one event; ``base`` is the pointer of the list that holds it.

    ``context`` is the document's ``@context``: the prefixes its extension keys may use;
    ``binding`` the syntax the event came in (``json`` or ``xml``).
    """
    report = check.Findings(index, _aware(now), (context,), binding)
    _event(report, f"{base}/{index}", event)
    if isinstance(event, dict):
        report.problems.extend(_too_long(event, index, f"{base}/{index}"))
    return report.problems


# What the repository stores per identifier and term (src/mics/trace/store.py): a longer
# value is refused here, naming the field, rather than failing in the database.
MAX_ID = 300
MAX_TERM = 200


def _too_long(event: dict[str, Any], index: int, pointer: str) -> list[Problem]:
    found: list[Problem] = []

    def limit(value: object, most: int, *where: object) -> None:
        if isinstance(value, str) and len(value) > most:
            path = "/".join(str(step) for step in where)  # only for a value refused
            found.append(
                Problem(
                    index, f"{pointer}/{path}", value[:60] + "...", f"at most {most} characters"
                )
            )

    limit(event.get("eventID"), MAX_ID, "eventID")
    limit(event.get("bizStep"), MAX_TERM, "bizStep")
    limit(event.get("disposition"), MAX_TERM, "disposition")
    for key in ("readPoint", "bizLocation"):
        place = event.get(key)
        if isinstance(place, dict):
            limit(place.get("id"), MAX_ID, key, "id")
    limit(event.get("parentID"), MAX_ID, "parentID")
    for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        for n, epc in enumerate(_listed(event.get(key))):
            if epc.__class__ is not str or len(epc) > MAX_ID:
                limit(epc, MAX_ID, key, n)
    for key in ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"):
        for n, element in enumerate(_listed(event.get(key))):
            if isinstance(element, dict):
                limit(element.get("epcClass"), MAX_ID, key, n, "epcClass")
    for key, role in (("sourceList", "source"), ("destinationList", "destination")):
        for n, entry in enumerate(_listed(event.get(key))):
            if isinstance(entry, dict):
                limit(entry.get(role), MAX_ID, key, n, role)
    for n, entry in enumerate(_listed(event.get("bizTransactionList"))):
        if isinstance(entry, dict):
            limit(entry.get("type"), MAX_TERM, "bizTransactionList", n, "type")
            limit(entry.get("bizTransaction"), MAX_ID, "bizTransactionList", n, "bizTransaction")
    return found


def _listed(value: object) -> list[Any]:
    """``value`` when it is a list, else nothing: the schema check reports a non-list."""
    return value if isinstance(value, list) else []


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _get(value: object, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


_COMMON: dict[str, check.Check] = {
    "@context": check.context,
    "type": check.anything,
    "eventTime": check.event_time,
    "recordTime": check.timestamp,
    "eventTimeZoneOffset": check.zone_offset,
    "eventID": check.uri,
    "certificationInfo": check.certification,
    "errorDeclaration": check.ERROR_DECLARATION,
}
_WHERE_WHY: dict[str, check.Check] = {
    "bizStep": check.vocabulary(cbv.BIZ_STEP),
    "disposition": check.vocabulary(cbv.DISPOSITION),
    "readPoint": check.PLACE,
    "bizLocation": check.PLACE,
    "bizTransactionList": check.list_of(check.BIZ_TRANSACTION),
    "sourceList": check.list_of(check.SOURCE),
    "destinationList": check.list_of(check.DESTINATION),
    "sensorElementList": check.list_of(check.SENSOR_ELEMENT),
}
_EPCS = check.list_of(check.identifier("instance"), unique=True)
_QUANTITIES = check.list_of(check.quantity_element)
_PARENT = check.identifier("instance")
_CHILDREN = {
    "action": check.action,
    "parentID": _PARENT,
    "childEPCs": check.list_of(check.identifier("instance")),
    "childQuantityList": _QUANTITIES,
}
_OWN_FIELDS: dict[str, dict[str, check.Check]] = {
    "ObjectEvent": {
        "action": check.action,
        "epcList": _EPCS,
        "quantityList": _QUANTITIES,
        "persistentDisposition": check.persistent_disposition,
        "ilmd": check.ilmd,
    },
    "AggregationEvent": _CHILDREN,
    "AssociationEvent": _CHILDREN,
    "TransactionEvent": {
        "action": check.action,
        "parentID": _PARENT,
        "epcList": _EPCS,
        "quantityList": _QUANTITIES,
    },
    "TransformationEvent": {
        "inputEPCList": _EPCS,
        "inputQuantityList": _QUANTITIES,
        "outputEPCList": _EPCS,
        "outputQuantityList": _QUANTITIES,
        "transformationID": check.uri,
        "persistentDisposition": check.persistent_disposition,
        "ilmd": check.ilmd,
    },
}

# Each event type's fields: the common ones, the where/why ones, then its own.
_FIELDS = {kind: {**_COMMON, **_WHERE_WHY, **own} for kind, own in _OWN_FIELDS.items()}


def _event(report: check.Findings, pointer: str, event: Any) -> None:
    kind = _get(event, "type")
    if not isinstance(event, dict):
        report.add(pointer, event, "an event object")
        return
    required = ["eventTime", "eventTimeZoneOffset"]
    if "@context" in event:
        report.also_in_force(event["@context"])
    if isinstance(kind, str) and kind in _FIELDS:
        fields = _FIELDS[kind]
        if kind == "TransformationEvent" and "action" in event:
            report.add(
                check.pointer_to(pointer, "action"),
                event["action"],
                "no action: a TransformationEvent has none",
            )
            event = {k: v for k, v in event.items() if k != "action"}
        check.check_object(report, pointer, event, fields, required=required)
        _RULES[kind](report, pointer, event)
    elif is_absolute_uri(kind):  # an extension event type: only the common fields are known
        check.check_object(report, pointer, event, _COMMON, required=required, others="any")
    else:
        report.add(
            check.pointer_to(pointer, "type"),
            kind,
            f"one of {list(EVENT_TYPES)} or an extension event type URI",
        )


def _has_items(event: dict[str, Any], key: str) -> bool:
    value = event.get(key)
    return isinstance(value, list) and len(value) > 0


def _require(
    report: check.Findings, pointer: str, event: dict[str, Any], key: str, why: str
) -> None:
    if key not in event:
        report.add(check.pointer_to(pointer, key), None, why)


def _object_rules(report: check.Findings, pointer: str, event: dict[str, Any]) -> None:
    _require(report, pointer, event, "action", "an action: 'ADD', 'OBSERVE' or 'DELETE'")
    sensed = _has_items(event, "sensorElementList") and "readPoint" in event
    if not ("epcList" in event or _has_items(event, "quantityList") or sensed):
        report.add(
            check.pointer_to(pointer, "epcList"),
            None,
            "an epcList, a non-empty quantityList, or a sensorElementList with a readPoint",
        )
    if "ilmd" in event and event.get("action") != "ADD":
        report.add(
            check.pointer_to(pointer, "ilmd"),
            event["ilmd"],
            "ilmd only on an event with action 'ADD'",
        )


def _children_rules(report: check.Findings, pointer: str, event: dict[str, Any]) -> None:
    _require(report, pointer, event, "action", "an action: 'ADD', 'OBSERVE' or 'DELETE'")
    action = event.get("action")
    if event.get("type") == "AssociationEvent":
        _require(
            report, pointer, event, "parentID", "the parentID the children are associated with"
        )
    elif action in ("ADD", "DELETE"):  # EPCIS 2.0 §7.4.3: optional only when OBSERVE
        _require(report, pointer, event, "parentID", f"a parentID when action is {action!r}")
    children = _has_items(event, "childEPCs") or _has_items(event, "childQuantityList")
    if not children and action != "DELETE":
        expected = "a child in childEPCs or childQuantityList (only a DELETE may have none)"
        report.add(check.pointer_to(pointer, "childEPCs"), event.get("childEPCs"), expected)


def _transaction_rules(report: check.Findings, pointer: str, event: dict[str, Any]) -> None:
    _require(report, pointer, event, "action", "an action: 'ADD', 'OBSERVE' or 'DELETE'")
    _require(report, pointer, event, "bizTransactionList", "the business transactions concerned")
    if event.get("bizTransactionList") == []:
        report.add(
            check.pointer_to(pointer, "bizTransactionList"), [], "at least one business transaction"
        )
    named = "epcList" in event or _has_items(event, "quantityList")
    if not named and event.get("action") != "DELETE":
        expected = "an epcList or a non-empty quantityList"
        report.add(check.pointer_to(pointer, "epcList"), None, expected)


def _transformation_rules(report: check.Findings, pointer: str, event: dict[str, Any]) -> None:
    inputs = _has_items(event, "inputEPCList") or _has_items(event, "inputQuantityList")
    outputs = _has_items(event, "outputEPCList") or _has_items(event, "outputQuantityList")
    if not (inputs and outputs) and not ((inputs or outputs) and "transformationID" in event):
        report.add(
            check.pointer_to(pointer, "inputEPCList"),
            event.get("inputEPCList"),
            "inputs and outputs, or a transformationID with at least one input or output",
        )


_RULES: dict[str, Callable[[check.Findings, str, dict[str, Any]], None]] = {
    "ObjectEvent": _object_rules,
    "AggregationEvent": _children_rules,
    "AssociationEvent": _children_rules,
    "TransactionEvent": _transaction_rules,
    "TransformationEvent": _transformation_rules,
}

_EVENT_LIST = check.list_of(check.anything)
_VOCABULARY = check.object_of(
    {
        "type": check.uri,
        "vocabularyElementList": check.list_of(
            check.object_of(
                {
                    "id": check.uri,
                    "attributes": check.list_of(
                        check.object_of(
                            {"id": check.uri, "attribute": check.anything},
                            required=["id"],
                            others="any",
                        )
                    ),
                    "children": check.list_of(check.uri),
                },
                required=["id"],
                others="any",
            )
        ),
    },
    required=["type"],
    others="any",
)
_HEADER = check.object_of(
    {
        "epcisMasterData": check.object_of(
            {"vocabularyList": check.list_of(_VOCABULARY)}, others="any"
        )
    }
)
_RESULTS_BODY = check.object_of(
    {"eventList": _EVENT_LIST, "vocabularyList": check.list_of(_VOCABULARY)}, required=["eventList"]
)
_QUERY_BODY = check.object_of(
    {
        "queryResults": check.object_of(
            {
                "queryName": check.string,
                "subscriptionID": check.string,
                "resultsBody": _RESULTS_BODY,
            },
            required=["queryName", "resultsBody"],
        )
    },
    required=["queryResults"],
)
_HEAD: dict[str, check.Check] = {
    "@context": check.context,
    "id": check.uri,
    "type": check.anything,
    "schemaVersion": lambda r, p, v: _version(r, p, v),
    "creationDate": check.timestamp,
}
_DOCUMENTS: dict[str, tuple[dict[str, check.Check], list[str]]] = {
    "EPCISDocument": (
        {
            **_HEAD,
            "instanceIdentifier": check.string,
            "sender": check.string,
            "receiver": check.string,
            "epcisHeader": _HEADER,
            "epcisBody": check.object_of(
                {"eventList": _EVENT_LIST}, required=["eventList"], others="any"
            ),
        },
        ["@context", "type", "schemaVersion", "creationDate", "epcisBody"],
    ),
    "EPCISQueryDocument": ({**_HEAD, "epcisBody": _QUERY_BODY}, ["@context", "type", "epcisBody"]),
}


def _version(report: check.Findings, pointer: str, value: Any) -> None:
    if not (isinstance(value, str) and _VERSION.fullmatch(value)):
        report.add(pointer, value, "a version string such as '2.0'")


def _document(report: check.Findings, doc: Any) -> list[Any]:
    """Check the document around the events; return the event list found (maybe empty)."""
    kind = _get(doc, "type")
    if not isinstance(kind, str) or kind not in _DOCUMENTS:
        report.add("/type", kind, "'EPCISDocument' or 'EPCISQueryDocument'")
        return []
    fields, required = _DOCUMENTS[kind]
    check.check_object(report, "", doc, fields, required=required)
    body = _get(doc, "epcisBody")
    if kind == "EPCISQueryDocument":
        body = _get(_get(body, "queryResults"), "resultsBody")
    events = _get(body, "eventList")
    return events if isinstance(events, list) else []
