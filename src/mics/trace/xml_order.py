"""The element order the EPCIS XSDs require of an event's children (EPCIS 2.0 and 1.2 XML).

An XSD ``xsd:sequence`` fixes the order of an event's elements: EPCISEventType's
(``eventTime``, ``recordTime``, ``eventTimeZoneOffset``, ``eventID``, ``errorDeclaration``,
``certificationInfo``) and then those of its type, as below (``EPCglobal-epcis-2_0.xsd``:
ObjectEventType, AggregationEventType, TransactionEventType, TransformationEventType,
AssociationEventType), each at most once, then extension elements (``xsd:any
namespace="##other"``) last. EPCIS 1.2 put some of the same elements inside ``<extension>``
and ``<baseExtension>`` wrappers; opened, its order is the same sequence without the 2.0
additions, so one table checks both. Nested sequences with an order of their own are checked
too: SensorElementType (``sensorMetadata``, then ``sensorReport`` any number of times, then
the 1.2-style ``extension``), PersistentDispositionType (every ``unset``, then every
``set``), quantityElement, readPoint and bizLocation; an errorDeclaration is an
``xsd:choice`` of any order. MICS's XML writer (``mics.trace.xml_writer``) writes every one
of these sequences in this order, whatever the order of the JSON-LD keys.

The check runs as each event is read (``mics.trace.xml_binding``), on the element names
alone: no XSD is loaded at run time (the GS1 files are not shipped, see README).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SEQUENCES", "order_problem"]

_BASE = (
    "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
    "certificationInfo",
)  # fmt: skip
_WHERE = ("bizStep", "disposition", "readPoint", "bizLocation")
_SENSED = ("sourceList", "destinationList", "sensorElementList", "persistentDisposition")
SEQUENCES: dict[str, tuple[str, ...]] = {
    "ObjectEvent": (
        *_BASE, "epcList", "action", *_WHERE, "bizTransactionList", "quantityList", *_SENSED,
        "ilmd",
    ),
    "AggregationEvent": (
        *_BASE, "parentID", "childEPCs", "action", *_WHERE, "bizTransactionList",
        "childQuantityList", *_SENSED,
    ),
    "TransactionEvent": (
        *_BASE, "bizTransactionList", "parentID", "epcList", "action", *_WHERE, "quantityList",
        *_SENSED,
    ),
    "TransformationEvent": (
        *_BASE, "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
        "transformationID", *_WHERE, "bizTransactionList", *_SENSED, "ilmd",
    ),
    "AssociationEvent": (
        *_BASE, "parentID", "childEPCs", "childQuantityList", "action", *_WHERE,
        "bizTransactionList", *_SENSED,
    ),
    "sensorElement": ("sensorMetadata", "sensorReport", "extension"),
    "persistentDisposition": ("unset", "set"),
    "quantityElement": ("epcClass", "quantity", "uom"),
    "readPoint": ("id",),
    "bizLocation": ("id",),
}  # fmt: skip
_REPEATING = frozenset({"sensorReport", "set", "unset"})  # maxOccurs="unbounded"
# name -> place in its sequence, worked out once: the check runs for every element read
_POSITIONS = {kind: {n: i for i, n in enumerate(seq)} for kind, seq in SEQUENCES.items()}


def order_problem(kind: str, children: Sequence[tuple[str, bool]]) -> tuple[str, str] | None:
    """The first child of a ``kind`` element out of the XSD's order, and what was expected.

    ``children``: (local name, qualified) in document order, wrappers already opened;
    a qualified (namespaced) child is an extension, allowed only after the standard ones.
    Answers ``(element, expected)`` or None when the order is right.
    """
    position = _POSITIONS.get(kind)
    if position is None:
        return None
    sequence = SEQUENCES[kind]
    at = -1
    last = ""
    extension = ""
    for name, qualified in children:
        if qualified:
            extension = extension or name
            continue
        index = position.get(name)
        if index is None:
            continue  # not an element of this sequence: the field checks name it
        if extension:
            return name, (
                f"<{name}> before the extension element <{extension}>: extensions come last "
                f"in {kind} (EPCIS XSD: xsd:any ##other ends the sequence)"
            )
        if index < at or (index == at and name not in _REPEATING):
            allowed = list(sequence[at + 1 :])
            shown = ", ".join(f"<{n}>" for n in allowed[:6]) or "no more standard elements"
            return name, (
                f"<{name}> earlier in {kind}: after <{last}> the EPCIS XSD allows {shown}"
                + ("..." if len(allowed) > 6 else "")
            )
        at, last = index, name
    return None
