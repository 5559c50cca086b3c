"""The field checks that ``mics.trace.validate`` assembles into EPCIS 2.0 event rules.

Each check has the shape ``check(report, pointer, value)``: it looks at one JSON
value found at ``pointer`` and adds a ``Problem`` to ``report`` for every rule it
breaks, so that a whole document can be checked in one pass. The building blocks
mirror the EPCIS 2.0 JSON Schema definitions (``event-definitions-JSON-Schema.json``:
uri, time, uom, quantityElement, bizTransaction, source, destination,
sensorElement, sensorReport, sensorMetadata, errorDeclaration,
persistentDisposition, ilmd) and add the rules the schema cannot express:

* RFC 3339 date-times with an offset that name a real instant, offsets within
  ±14:00 (as the schema's eventTimeZoneOffset pattern); an event time may lie in the
  future (EPCIS 2.0 sets no such limit: sensor and planned events carry one);
* EPC URNs and GS1 Digital Links well formed, of the expected level (instance or
  class) and with valid check digits (``mics.trace.identifier_syntax``);
* CBV 2.0 terms for the standard vocabularies (``mics.trace.cbv``);
* a quantity without a ``uom`` is a count and so a whole number; a ``uom`` needs a
  quantity (EPCIS 2.0 §7.3.3.3, XSD ``QuantityElementType``);
* a sensorReport ``uom`` is a UN/CEFACT Rec 20 code like a quantity's (the schema
  only asks for a string).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from mics.errors import InvalidInput
from mics.trace import cbv, names
from mics.trace.identifier_syntax import Identifier, is_absolute_uri, parse_identifier

__all__ = [
    "BIZ_TRANSACTION",
    "DESTINATION",
    "ERROR_DECLARATION",
    "PLACE",
    "SENSOR_ELEMENT",
    "SOURCE",
    "Check",
    "Findings",
    "Known",
    "ListOf",
    "Problem",
    "action",
    "anything",
    "certification",
    "check_object",
    "context",
    "event_time",
    "identifier",
    "ilmd",
    "list_of",
    "number",
    "object_of",
    "parse_timestamp",
    "persistent_disposition",
    "pointer_to",
    "quantity_element",
    "string",
    "timestamp",
    "uri",
    "vocabulary",
    "zone_offset",
]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))"
)
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_UOM = re.compile(r"[A-Z0-9]{2,3}")  # UN/CEFACT Recommendation 20 common codes
_HEX = re.compile(r"[A-Fa-f0-9]+")


@dataclass(frozen=True)
class Problem:
    """One broken rule: where (event index, JSON pointer), what was found, what was expected."""

    event_index: int | None
    pointer: str
    value: Any
    expected: str

    def __str__(self) -> str:
        shown = repr(self.value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"{self.pointer}: got {shown}, expected {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "eventIndex": self.event_index,
            "pointer": self.pointer,
            "value": self.value,
            "expected": self.expected,
        }


_TIMESTAMPS: dict[str, datetime] = {}
_ZONES: dict[str, timezone] = {}  # "+01:00" -> its timezone


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 date-time with an offset as an aware datetime, or raise ``InvalidInput``."""
    found = _TIMESTAMPS.get(text)
    if found is None:
        found = _parse_timestamp(text)
        if len(_TIMESTAMPS) >= 10_000:  # capture validates a batch, then stores it
            _TIMESTAMPS.clear()
        _TIMESTAMPS[text] = found
    return found


def _parse_timestamp(text: str) -> datetime:
    expected = "an RFC 3339 date-time with an offset, e.g. '2024-03-01T10:00:00.000+01:00'"
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise InvalidInput(f"not an RFC 3339 date-time: {text!r}", value=text, expected=expected)
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, off_h, off_m = match.groups()[6:]
    zone = _ZONES.get(sign + off_h + off_m) if sign else UTC
    if zone is None:  # at most 1,682 valid offsets: remembered (~1.5% of a capture)
        zone = _ZONES[sign + off_h + off_m] = timezone(_offset_delta(sign, off_h, off_m))
    try:
        micros = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(year, month, day, hour, minute, second, micros, zone)
    except ValueError as error:
        raise InvalidInput(
            f"{text!r} names no real instant ({error})",
            value=text,
            expected=f"a real calendar date and time ({error})",
        ) from error


def _offset_delta(sign: str, hours: str, minutes: str) -> timedelta:
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if int(minutes) > 59 or delta > timedelta(hours=14):
        raise InvalidInput(
            f"offset {sign}{hours}:{minutes} is out of range",
            value=f"{sign}{hours}:{minutes}",
            expected="an offset from -14:00 to +14:00 with minutes 00-59",
        )
    return -delta if sign == "-" else delta


class Findings:
    """The problems found so far in one event (``index``) or in the document header (None).

    ``contexts`` are the JSON-LD ``@context`` values in force (the document's, the
    event's): the prefixes they declare are those extension keys may use.
    """

    def __init__(
        self,
        index: int | None,
        now: datetime,
        contexts: tuple[Any, ...] = (),
        binding: str = "json",
    ) -> None:
        self.index = index
        self.now = now
        self.binding = binding  # "json" or "xml": where the two schemas differ (sensorReport type)
        self.problems: list[Problem] = []
        self.contexts = contexts
        self._declared: dict[str, str] | None = None  # worked out at the first extension

    def add(self, pointer: str, value: Any, expected: str) -> None:
        self.problems.append(Problem(self.index, pointer, value, expected))

    def also_in_force(self, context: Any) -> None:
        """An event's own ``@context``, in force with the document's."""
        self.contexts = (*self.contexts, context)
        self._declared = None

    def declared(self) -> dict[str, str]:
        if self._declared is None:
            self._declared = names.declared_prefixes(*self.contexts)
        return self._declared


Check = Callable[[Findings, str, Any], None]
_KNOWN_LIMIT = 50_000  # strings remembered per check; a capture batch repeats its lots and places


class Known:
    """A check of a value whose verdict depends on the value alone, remembering the strings
    that passed: a document names the same lots, places and terms over and over."""

    __slots__ = ("check", "good")

    def __init__(self, check: Check) -> None:
        self.check = check
        self.good: set[str] = set()

    def quick(self, value: Any) -> bool:
        """True when ``value`` is a string that passed before."""
        return value.__class__ is str and value in self.good

    def __call__(self, report: Findings, pointer: str, value: Any) -> None:
        if value.__class__ is str:
            if value in self.good:
                return
            before = len(report.problems)
            self.check(report, pointer, value)
            if len(report.problems) == before:
                if len(self.good) >= _KNOWN_LIMIT:
                    self.good.clear()
                self.good.add(value)
        else:
            self.check(report, pointer, value)


_STEPS: dict[str, str] = {}


def pointer_to(base: str, key: str | int) -> str:
    """``base`` extended by one JSON Pointer step (RFC 6901 §4 escaping)."""
    step = _STEPS.get(key) if isinstance(key, str) else None
    if step is None:
        step = str(key)
        if "~" in step or "/" in step:
            step = step.replace("~", "~0").replace("/", "~1")
        if isinstance(key, str) and len(_STEPS) < 10_000:
            _STEPS[key] = step
    return base + "/" + step


def check_object(
    report: Findings,
    pointer: str,
    value: Any,
    fields: dict[str, Check],
    *,
    required: Sequence[str] = (),
    others: Literal["uri", "any", "none"] = "uri",
) -> bool:
    """Check a JSON object field by field; ``others`` says which unknown keys are allowed:
    ``uri`` (namespaced extensions), ``any`` or ``none``."""
    if not isinstance(value, dict):
        report.add(pointer, value, f"an object with {', '.join(fields) or 'fields'}")
        return False
    for key in required:
        if key not in value:
            report.add(pointer_to(pointer, key), None, f"the required field {key!r}")
    for key, item in value.items():
        check = fields.get(key)
        if check is not None:
            if not (isinstance(check, Known | ListOf) and check.quick(item)):
                check(report, pointer_to(pointer, key), item)
        elif others == "none" or (others == "uri" and ":" not in key):
            extension = " or a namespaced extension like 'example:myField'"
            report.add(
                pointer_to(pointer, key),
                item,
                f"one of the fields {sorted(fields)}{extension if others == 'uri' else ''}",
            )
        else:
            extension_field(report, pointer, key, item, qualified=others == "uri")
    return True


def extension_field(
    report: Findings, pointer: str, key: str, value: Any, *, qualified: bool
) -> None:
    """An extension ``key`` and every key inside its ``value``: names the XML binding can
    write as the capturer meant (``mics.trace.names``), with prefixes the @context declares.
    """
    declared = report.declared()
    expected = names.problem(key, declared, qualified=qualified)
    if expected is not None:
        report.add(pointer_to(pointer, key), key, expected)
    stack: list[tuple[str, Any]] = [(pointer_to(pointer, key), value)]
    while stack:  # a list, not recursion: nesting is bounded before (mics.trace.json_text)
        where, item = stack.pop()
        if isinstance(item, dict):
            for inner, inner_value in item.items():
                expected = names.problem(inner, declared, qualified=False)
                if expected is not None:
                    report.add(pointer_to(where, inner), inner, expected)
                stack.append((pointer_to(where, inner), inner_value))
        elif isinstance(item, list):
            stack.extend((pointer_to(where, n), inner_value) for n, inner_value in enumerate(item))


def list_of(check: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    """A JSON array whose items each pass ``check``."""
    return ListOf(check, min_items, unique)


class ListOf:
    """A JSON array whose items each pass ``check`` (see :func:`list_of`)."""

    __slots__ = ("check", "known", "min_items", "unique")

    def __init__(self, check: Check, min_items: int, unique: bool) -> None:
        self.check, self.min_items, self.unique = check, min_items, unique
        self.known = check.good if isinstance(check, Known) else None

    def quick(self, value: Any) -> bool:
        """True when every item is a string that passed before and none repeats."""
        known = self.known
        return (
            known is not None
            and value.__class__ is list
            and len(value) >= self.min_items
            and all(item.__class__ is str and item in known for item in value)
            and (not self.unique or len(set(value)) == len(value))
        )

    def __call__(self, report: Findings, pointer: str, value: Any) -> None:
        if not isinstance(value, list):
            report.add(pointer, value, "a JSON array")
            return
        if self.quick(value):
            return
        if len(value) < self.min_items:
            report.add(pointer, value, f"at least {self.min_items} item(s)")
        seen: set[str] = set()
        check = self.check
        for i, item in enumerate(value):
            if self.unique:
                marker = item if isinstance(item, str) else json.dumps(item, sort_keys=True)
                if marker in seen:
                    report.add(pointer_to(pointer, i), item, "no repeated entries in this list")
                seen.add(marker)
            check(report, pointer_to(pointer, i), item)


def anything(report: Findings, pointer: str, value: Any) -> None:
    """Anything goes: the schema leaves this field open."""


def string(report: Findings, pointer: str, value: Any) -> None:
    if not isinstance(value, str):
        report.add(pointer, value, "a string")


def number(report: Findings, pointer: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        report.add(pointer, value, "a finite JSON number")


def boolean(report: Findings, pointer: str, value: Any) -> None:
    if not isinstance(value, bool):
        report.add(pointer, value, "true or false")


def hex_binary(report: Findings, pointer: str, value: Any) -> None:
    if not (isinstance(value, str) and _HEX.fullmatch(value)):
        report.add(pointer, value, "hexadecimal digits")


def uri(report: Findings, pointer: str, value: Any) -> None:
    if not is_absolute_uri(value):
        report.add(pointer, value, "an absolute URI (scheme:..., e.g. 'https://example.com/x')")


def uom(report: Findings, pointer: str, value: Any) -> None:
    if not (isinstance(value, str) and _UOM.fullmatch(value)):
        report.add(
            pointer, value, "a UN/CEFACT Rec 20 unit code of 2-3 capitals/digits, e.g. 'KGM'"
        )


def parse_time_field(report: Findings, pointer: str, value: Any) -> datetime | None:
    if not isinstance(value, str):
        report.add(pointer, value, "an RFC 3339 date-time string")
        return None
    try:
        return parse_timestamp(value)
    except InvalidInput as error:
        report.add(pointer, value, error.expected or error.message)
        return None


def timestamp(report: Findings, pointer: str, value: Any) -> None:
    parse_time_field(report, pointer, value)


def event_time(report: Findings, pointer: str, value: Any) -> None:
    """An event time: any real RFC 3339 instant, later than now too (issue 20 item 6)."""
    parse_time_field(report, pointer, value)


def _zone_offset(report: Findings, pointer: str, value: Any) -> None:
    match = _OFFSET.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        report.add(pointer, value, "a time zone offset '+hh:mm' or '-hh:mm', e.g. '+01:00'")
        return
    try:
        _offset_delta(*match.groups())
    except InvalidInput as error:
        report.add(pointer, value, error.expected or error.message)


zone_offset = Known(_zone_offset)


def vocabulary(vocabulary: cbv.Vocabulary) -> Check:
    def vocab_check(report: Findings, pointer: str, value: Any) -> None:
        try:
            vocabulary.expect(value)
        except InvalidInput as error:
            report.add(pointer, value, error.expected or error.message)

    return Known(vocab_check)


def identifier(
    level: Literal["instance", "class"] | None = None, *, location: bool = False
) -> Check:
    """An absolute URI; if it is an EPC URN or a Digital Link, a valid one of this kind."""

    def identifier_check(report: Findings, pointer: str, value: Any) -> None:
        if not is_absolute_uri(value):
            uri(report, pointer, value)
            return
        try:
            found: Identifier | None = parse_identifier(value)
        except InvalidInput as error:
            report.add(pointer, value, error.expected or error.message)
            return
        if found is None:
            return
        if level is not None and found.level != level:
            what = "an individual object" if level == "instance" else "a class of objects"
            report.add(
                pointer, value, f"{what}, not a {found.level}-level {found.scheme} identifier"
            )
        if location and not found.is_location:
            report.add(pointer, value, "a place: an SGLN URN, a GLN (414) Digital Link or a URI")

    return Known(identifier_check)


def context(report: Findings, pointer: str, value: Any) -> None:
    if isinstance(value, dict) or is_absolute_uri(value):
        return
    if not isinstance(value, list):
        report.add(pointer, value, "a context URI, a context object, or an array of them")
        return
    for i, item in enumerate(value):
        if not (isinstance(item, dict) or is_absolute_uri(item)):
            report.add(pointer_to(pointer, i), item, "a context URI or a context object")
        elif item in value[:i]:
            report.add(pointer_to(pointer, i), item, "no repeated context entries")


def certification(report: Findings, pointer: str, value: Any) -> None:
    if isinstance(value, list):
        list_of(uri)(report, pointer, value)
    else:
        uri(report, pointer, value)


def object_of(fields: dict[str, Check], **options: Any) -> Check:
    def object_check(report: Findings, pointer: str, value: Any) -> None:
        check_object(report, pointer, value, fields, **options)

    return object_check


def quantity_element(report: Findings, pointer: str, value: Any) -> None:
    """epcClass, quantity and uom; a uom needs a quantity, a count needs a whole number."""
    fields = _QUANTITY_FIELDS
    if not check_object(report, pointer, value, fields, required=["epcClass"], others="none"):
        return
    quantity = value.get("quantity")
    if "uom" in value and "quantity" not in value:
        report.add(pointer_to(pointer, "uom"), value["uom"], "a quantity alongside the uom")
    is_number = isinstance(quantity, int | float) and not isinstance(quantity, bool)
    if "uom" not in value and is_number and math.isfinite(quantity) and quantity % 1:
        expected = "a whole-number count, or a uom such as 'KGM' for a measured amount"
        report.add(pointer_to(pointer, "quantity"), quantity, expected)


def persistent_disposition(report: Findings, pointer: str, value: Any) -> None:
    """Dispositions to set and/or to unset, each list non-empty and without repeats."""
    fields = _PERSISTENT_FIELDS
    if check_object(report, pointer, value, fields, others="none") and not value.keys() & fields:
        report.add(pointer, value, "'set' and/or 'unset' with at least one disposition")


_QUANTITY_FIELDS: dict[str, Check] = {
    "epcClass": identifier("class"),
    "quantity": number,
    "uom": Known(uom),
}
_DISPOSITIONS = list_of(vocabulary(cbv.DISPOSITION), min_items=1, unique=True)
_PERSISTENT_FIELDS = {"set": _DISPOSITIONS, "unset": _DISPOSITIONS}


ERROR_DECLARATION = object_of(
    {
        "declarationTime": timestamp,
        "reason": vocabulary(cbv.ERROR_REASON),
        "correctiveEventIDs": list_of(uri),
    },
    required=["declarationTime"],
)
PLACE = object_of({"id": identifier(location=True)}, required=["id"], others="any")
BIZ_TRANSACTION = object_of(
    {"type": vocabulary(cbv.BIZ_TRANSACTION_TYPE), "bizTransaction": identifier()},
    required=["bizTransaction"],
    others="none",
)
SOURCE = object_of(
    {"type": vocabulary(cbv.SOURCE_DESTINATION_TYPE), "source": identifier()},
    required=["type", "source"],
    others="none",
)
DESTINATION = object_of(
    {"type": vocabulary(cbv.SOURCE_DESTINATION_TYPE), "destination": identifier()},
    required=["type", "destination"],
    others="none",
)
_DEVICE = {
    "deviceID": identifier(),
    "deviceMetadata": uri,
    "rawData": uri,
    "dataProcessingMethod": uri,
    "bizRules": uri,
    "time": timestamp,
}
_SENSOR_METADATA = object_of({**_DEVICE, "startTime": timestamp, "endTime": timestamp})
_SENSOR_REPORT = object_of(
    {
        **_DEVICE,
        "type": vocabulary(cbv.MEASUREMENT_TYPE),
        "exception": vocabulary(cbv.SENSOR_ALERT_TYPE),
        "microorganism": uri,
        "chemicalSubstance": uri,
        "coordinateReferenceSystem": uri,
        "component": vocabulary(cbv.COMPONENT),
        "stringValue": string,
        "booleanValue": boolean,
        "hexBinaryValue": hex_binary,
        "uriValue": uri,
        "uom": uom,
        **dict.fromkeys(
            ["value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"],
            number,
        ),
    },
)


def sensor_report(report: Findings, pointer: str, value: Any) -> None:
    """One sensorReport. Its ``type`` is required by the JSON Schema (sensorReport) but
    optional in the XSD (SensorReportType: ``use="optional"``), as in GS1's own XML example
    of a report carrying only an ``exception``: required for JSON, not for XML."""
    _SENSOR_REPORT(report, pointer, value)
    if report.binding == "json" and isinstance(value, dict) and "type" not in value:
        report.add(pointer_to(pointer, "type"), None, "the required field 'type'")


SENSOR_ELEMENT = object_of(
    {"sensorMetadata": _SENSOR_METADATA, "sensorReport": list_of(sensor_report, min_items=1)},
    required=["sensorReport"],
)


def ilmd(report: Findings, pointer: str, value: Any) -> None:
    check_object(report, pointer, value, {}, others="uri")


def action(report: Findings, pointer: str, value: Any) -> None:
    if value not in ("ADD", "OBSERVE", "DELETE"):
        report.add(pointer, value, "one of 'ADD', 'OBSERVE', 'DELETE'")
