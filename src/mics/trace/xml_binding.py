"""EPCIS XML binding (EPCIS 2.0 §11; EPCIS 1.2 §9) to and from the JSON-LD event shape (§12).

``parse_xml`` reads an EPCISDocument or EPCISQueryDocument, EPCIS 2.0 or 1.2 (whose newer fields
sit in ``<extension>`` and ``<baseExtension>`` wrappers), into the JSON-LD document MICS keeps;
``iter_xml_events`` streams the events of a large document one at a time without building a
tree; ``to_xml`` writes EPCIS 2.0 XML for query results. An event read from XML and the same
event written in JSON-LD have the same CBV 2.0 event hash.

Parsing is safe: defusedxml's expat parser forbids entity declarations and external references,
and any DTD beyond a bare ``<!DOCTYPE name>`` is refused, so XXE and "billion laughs" documents
fail with :class:`mics.errors.InvalidInput`; so does XML that is not well-formed (with its line
and column).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from mics.errors import InvalidInput, TooLarge
from mics.trace.canonical_uri import (
    CONTEXT_PREFIXES,
    FIELD_SCOPES,
    NAMESPACE_ALIASES,
    STANDARD_PREFIXES,
)
from mics.trace.json_text import MAX_DEPTH
from mics.trace.xml_order import SEQUENCES, order_problem

__all__ = ["EPCIS_CONTEXT", "iter_xml_events", "parse_xml", "to_xml"]

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_NS = "urn:epcglobal:epcis:xsd:2"
QUERY_NS = "urn:epcglobal:epcis-query:xsd:2"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = "{" + XSI_NS + "}type"
_XSD_INTEGERS = frozenset(
    (
        "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
        "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
        "unsignedByte",
    )
)  # fmt: skip
EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
_WRAPPERS = frozenset({"extension", "baseExtension"})  # EPCIS 1.2 extension points
EPC_LISTS = {"epcList": "epc", "childEPCs": "epc", "inputEPCList": "epc", "outputEPCList": "epc"}
QUANTITY_LISTS = frozenset(
    {"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"}
)
TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source"}
TYPED_LISTS["destinationList"] = "destination"
_NUMBER_FIELDS = frozenset({"quantity", "value", "minValue", "maxValue", "meanValue", "sDev"})
_NUMBER_FIELDS |= {"percRank", "percValue"}
_HEADER_TEXT = frozenset({"queryName", "subscriptionID"})
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
# Element order of the EPCIS 2.0 XSD event types (fields an event lacks are skipped).
FIELD_ORDER = (
    "eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration",
    "certificationInfo", "parentID", "epcList", "childEPCs", "inputEPCList",
    "inputQuantityList", "outputEPCList", "outputQuantityList", "transformationID", "action",
    "bizStep", "disposition", "readPoint", "bizLocation", "bizTransactionList", "quantityList",
    "childQuantityList", "sourceList", "destinationList", "sensorElementList",
    "persistentDisposition", "ilmd",
)  # fmt: skip


class _Element:
    """One XML element while it is read: tag ``{ns}local``, attributes, text, children."""

    __slots__ = ("attrib", "children", "tag", "text")

    def __init__(self, tag: str, attrib: dict[str, str]) -> None:
        self.tag = tag
        self.attrib = attrib
        self.text: list[str] = []
        self.children: list[_Element] = []


class _SafeParser(DefusedXMLParser):
    """defusedxml's parser that lets a bare ``<!DOCTYPE name>`` through and nothing more."""

    def __init__(self, target: _EventReader) -> None:
        super().__init__(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)

    def defused_start_doctype_decl(
        self, name: str, sysid: str | None, pubid: str | None, has_internal_subset: bool
    ) -> None:
        if sysid or pubid or has_internal_subset:
            raise DTDForbidden(name, sysid, pubid)


class _EventReader:
    """Parser target: builds each event's element tree and turns it into a JSON-LD dict."""

    def __init__(self, check_order: bool = True) -> None:
        self.check_order = check_order  # the XSD's element order (mics.trace.xml_order)
        self.stack: list[_Element] = []
        self.ready: list[dict[str, Any]] = []
        self.prefix_of: dict[str, str] = {}  # namespace -> prefix used in JSON-LD keys
        self.namespace_of: dict[str, str] = {}  # prefix -> namespace
        self.declared: dict[str, str] = {}  # namespace -> prefix the XML declared for it
        self.header: dict[str, Any] = {}
        self.ignore_fields: list[str] = []
        self.ignore_key = ""
        self.event_depth = -1
        self.used: set[str] = set()
        self.value_prefixes: set[str] = set()  # "p" of values like "p:x", which must not expand
        self.renamed: dict[str, str] = {}
        self.in_scope: dict[str, list[str]] = {}  # prefix -> namespaces declared, innermost last
        self.events_read = 0

    # -- parser target interface
    def start_ns(self, prefix: str, uri: str) -> None:
        self.declared.setdefault(NAMESPACE_ALIASES.get(uri, uri), prefix)
        self.in_scope.setdefault(prefix, []).append(uri)

    def end_ns(self, prefix: str) -> None:
        self.in_scope[prefix].pop()

    def _curie(self, text: str) -> str:
        """A value ``p:x`` whose prefix an ``xmlns:p`` in scope declares, as the full URI.

        CBV 2.0 §8.9 expands every CURIE, and the JSON-LD form of the same event expands it with
        its @context: a ``bizStep`` or sensor ``type`` written ``ext1:x`` in XML is the URI the
        ``xmlns:ext1`` declaration makes of it. ``gs1:``/``cbv:`` stay as written: they mean the
        GS1 vocabularies in either syntax (and the hash expands them).
        """
        prefix, colon, local = text.partition(":")
        if not colon or prefix in STANDARD_PREFIXES or not local or local.startswith("/"):
            return text
        scope = self.in_scope.get(prefix)
        if not scope or not scope[-1]:
            return text
        return NAMESPACE_ALIASES.get(scope[-1], scope[-1]) + local

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:  # before it is built: the reading recurses per level
            raise _TooDeep(len(self.stack) + 1)
        if self.event_depth >= 0 and attrib:
            attrib = {k: v if k == _XSI_TYPE else self._curie(v) for k, v in attrib.items()}
        element = _Element(tag, attrib)
        local = _local(tag)
        if self.event_depth < 0:
            if local in EVENT_TYPES and self._in_event_list():
                self.event_depth = len(self.stack)
            elif not self.stack:
                self.header = {k: v for k, v in attrib.items() if "}" not in k}
                self.header["type"] = local
        if self.stack and (self.event_depth >= 0 or local == "ignoreFields" or self._keeps()):
            self.stack[-1].children.append(element)
        self.stack.append(element)

    def data(self, text: str) -> None:
        top = self.stack[-1]
        if not top.children and (self.event_depth >= 0 or _local(top.tag) in _HEADER_TEXT):
            top.text.append(text)

    def end(self, tag: str) -> None:
        element = self.stack.pop()
        if self.event_depth >= 0 and not element.children and element.text:
            text = _text(element)
            curie = self._curie(text)
            if curie is not text:
                element.text = [curie]
        if len(self.stack) == self.event_depth:
            self.event_depth = -1
            if self.check_order:
                _check_order(element, self._event_pointer())
            self.events_read += 1
            self.ready.append(self._event(element))
            if self.stack:
                self.stack[-1].children.clear()
        elif _local(tag) == "ignoreFields" and self.event_depth < 0:
            self.ignore_key = self._key(tag)
            self.ignore_fields += [self._key(child.tag) for child in element.children]
        elif _local(tag) in ("queryName", "subscriptionID") and self.event_depth < 0:
            self.header[_local(tag)] = "".join(element.text).strip()

    def close(self) -> None:
        return None

    def _event_pointer(self) -> str:
        lists = "queryResults/resultsBody/eventList"
        where = lists if self.header.get("type") == "EPCISQueryDocument" else "eventList"
        return f"/epcisBody/{where}/{self.events_read}"

    # -- conversion
    def _in_event_list(self) -> bool:
        names = [_local(e.tag) for e in self.stack if _local(e.tag) not in _WRAPPERS]
        return bool(names) and names[-1] == "EventList"

    def _keeps(self) -> bool:
        return _local(self.stack[-1].tag) in ("QueryResults", "ignoreFields")

    def _key(self, tag: str) -> str:
        if not tag.startswith("{"):
            return tag
        namespace, local = tag[1:].split("}", 1)
        namespace = NAMESPACE_ALIASES.get(namespace, namespace)
        prefix = self.prefix_of.get(namespace)
        if prefix is None:
            prefix = self.declared.get(namespace) or "ns"
            taken = self.namespace_of.get(prefix) or CONTEXT_PREFIXES.get(prefix)
            if (taken is not None and taken != namespace) or prefix in self.value_prefixes:
                prefix = self._fresh(prefix)
            self.prefix_of[namespace] = prefix
            self.namespace_of[prefix] = namespace
        self.used.add(prefix)
        return f"{prefix}:{local}"

    def _fresh(self, prefix: str) -> str:
        number = 1
        while (
            f"{prefix}{number}" in self.namespace_of
            or f"{prefix}{number}" in self.value_prefixes
            or f"{prefix}{number}" in CONTEXT_PREFIXES
        ):
            number += 1
        return f"{prefix}{number}"

    def _keep_values_opaque(self, event: dict[str, Any]) -> dict[str, Any]:
        """Rename key prefixes that values use, so that ``"example:x"`` stays a plain string.

        XML does not resolve prefixes inside text, but a JSON-LD prefix applies to values too.
        """
        tokens = set(_value_prefixes(event)) - {"gs1", "cbv"}
        self.value_prefixes |= tokens
        clashes = {prefix: self._fresh(prefix) for prefix in tokens & self.namespace_of.keys()}
        for old, new in clashes.items():
            namespace = self.namespace_of.pop(old)
            self.prefix_of[namespace] = new
            self.namespace_of[new] = namespace
            self.renamed[old] = new
            if old in self.used:
                self.used.discard(old)
                self.used.add(new)
        return _renamed_keys(event, clashes) if clashes else event

    def _event(self, element: _Element) -> dict[str, Any]:
        self.used = set()
        event: dict[str, Any] = {"type": _local(element.tag)}
        event.update(self._fields(element, "event"))
        event = self._keep_values_opaque(event)
        if self.used:
            event["@context"] = [{p: self.namespace_of[p] for p in sorted(self.used)}]
        return event

    def _fields(self, element: _Element, scope: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in element.attrib.items():
            if key != _XSI_TYPE:
                name = self._key(key)
                out[name] = _typed(name, value)
        for child in _unwrapped(element.children):
            name = self._key(child.tag)
            value = self._value(child, name, scope)
            if name in out:
                previous = out[name]
                out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[name] = [value] if name == "sensorReport" else value
        return out

    def _value(self, element: _Element, name: str, scope: str) -> Any:
        children = list(_unwrapped(element.children))
        if name in EPC_LISTS or (scope == "errorDeclaration" and name == "correctiveEventIDs"):
            return [_text(child) for child in children]
        if name in QUANTITY_LISTS or name == "sensorElementList":
            inner = FIELD_SCOPES.get((scope, name), scope)
            return [self._fields(child, inner) for child in children]
        if name in TYPED_LISTS:
            return [self._typed_entry(child) for child in children]
        if scope == "persistentDisposition" or (name in ("set", "unset") and not children):
            return _text(element)
        if not children and element.attrib.keys() <= {_XSI_TYPE}:
            xsd_type = element.attrib.get(_XSI_TYPE, "").rpartition(":")[2]
            return (
                _xsd_value(_text(element), xsd_type) if xsd_type else _typed(name, _text(element))
            )
        out = self._fields(element, FIELD_SCOPES.get((scope, name), scope))
        text = _text(element)
        if text:
            out["#text"] = text
        if name == "persistentDisposition":
            out = {k: v if isinstance(v, list) else [v] for k, v in out.items()}
        return out

    def _typed_entry(self, element: _Element) -> dict[str, Any]:
        entry = {self._key(key): value for key, value in element.attrib.items()}
        entry[_local(element.tag)] = _text(element)
        return entry


def _check_order(element: _Element, pointer: str) -> None:
    """Raise ``DocumentInvalid`` at the first element out of the order its XSD sequence
    requires (``mics.trace.xml_order``), in ``element`` or the elements inside it."""
    children = list(_unwrapped(element.children))
    if _local(element.tag) in SEQUENCES:
        named = [(_local(c.tag), c.tag[:1] == "{") for c in children]
        found = order_problem(_local(element.tag), named)
        if found is not None:
            from mics.trace.validate import DocumentInvalid, Problem

            name, expected = found
            raise DocumentInvalid([Problem(None, f"{pointer}/{name}", name, expected)])
    for child in children:
        if child.children and child.tag[:1] != "{":
            _check_order(child, f"{pointer}/{child.tag}")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: _Element) -> str:
    return "".join(element.text).strip()


def _unwrapped(children: list[_Element]) -> Iterator[_Element]:
    """Children with EPCIS 1.2 ``<extension>``/``<baseExtension>`` wrappers opened."""
    for child in children:
        if child.tag in _WRAPPERS:
            yield from _unwrapped(child.children)
        else:
            yield child


def _value_prefixes(value: Any) -> Iterator[str]:
    """The ``p`` of every value ``p:x`` that is not an absolute URI (urn:, http:, https:)."""
    if isinstance(value, str):
        prefix, colon, _ = value.partition(":")
        if colon and prefix not in ("urn", "http", "https") and "/" not in prefix:
            yield prefix
    elif isinstance(value, dict):
        for item in value.values():
            yield from _value_prefixes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _value_prefixes(item)


def _renamed_keys(value: Any, renames: dict[str, str]) -> Any:
    """``value`` with keys ``old:x`` written ``new:x``."""
    if isinstance(value, list):
        return [_renamed_keys(item, renames) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        prefix, colon, local = key.partition(":")
        if colon and prefix in renames:
            key = f"{renames[prefix]}:{local}"
        out[key] = _renamed_keys(item, renames)
    return out


def _xsd_value(text: str, xsd_type: str) -> Any:
    """The JSON value of an extension element typed with ``xsi:type`` (a number, a boolean)."""
    if xsd_type in _XSD_INTEGERS and _INTEGER.fullmatch(text):
        return int(text)
    if xsd_type in ("decimal", "double", "float") and _NUMBER.fullmatch(text):
        return float(text)
    if xsd_type == "boolean" and text in ("true", "false", "1", "0"):
        return text in ("true", "1")
    return text


def _typed(name: str, text: str) -> Any:
    """The JSON value of a standard numeric or boolean field; anything else stays a string."""
    if name in _NUMBER_FIELDS and _NUMBER.fullmatch(text):
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    if name == "booleanValue" and text in ("true", "false", "1", "0"):
        return text in ("true", "1")
    return text


class _TooDeep(Exception):
    """An element nested deeper than ``MAX_DEPTH``: raised in the parser, named by ``_read``."""

    def __init__(self, depth: int) -> None:
        super().__init__(depth)
        self.depth = depth


def _read(source: IO[bytes], reader: _EventReader) -> Iterator[dict[str, Any]]:
    parser = _SafeParser(reader)
    try:
        while chunk := source.read(1 << 16):
            parser.feed(chunk)
            yield from reader.ready
            reader.ready.clear()
        parser.close()
    except _TooDeep as deep:
        line, column = parser.parser.CurrentLineNumber, parser.parser.CurrentColumnNumber
        raise TooLarge(
            f"the document nests elements {deep.depth} deep at line {line}, column {column}",
            field="xml",
            value=f"line {line}, column {column}",
            expected=f"at most {MAX_DEPTH} levels of elements, the document element being "
            "the first",
        ) from None
    except ParseError as error:
        line, column = error.position
        raise InvalidInput(
            f"XML is not well-formed at line {line}, column {column}: {error}",
            field="xml",
            value=f"line {line}, column {column}",
            expected="a well-formed EPCIS XML document",
        ) from None
    except DefusedXmlException as error:
        raise InvalidInput(
            f"XML with a DTD, entity declaration or external reference is refused ({error})",
            field="xml",
            value=type(error).__name__,
            expected="EPCIS XML without DTD or entities: remove the <!DOCTYPE> declaration",
        ) from None
    yield from reader.ready
    reader.ready.clear()


def _final_prefix(prefix: str, renamed: dict[str, str]) -> str:
    while prefix in renamed:
        prefix = renamed[prefix]
    return prefix


def iter_xml_events(stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """The events of an EPCIS XML document, one JSON-LD dict at a time, in document order.

    An event that uses extension namespaces carries them in its own ``@context``.
    """
    yield from _read(stream, _EventReader())


def parse_xml(data: bytes | str, *, check_order: bool = True) -> dict[str, Any]:
    """An EPCIS XML document (2.0 or 1.2, capture or query) as an EPCIS 2.0 JSON-LD document;
    ``check_order=False`` reads events whose elements break the XSD's order (to hash them)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    reader = _EventReader(check_order)
    events = list(_read(io.BytesIO(raw), reader))
    final = {old: _final_prefix(old, reader.renamed) for old in reader.renamed}
    for index, event in enumerate(events):
        event.pop("@context", None)
        if final:
            events[index] = _renamed_keys(event, final)
    doc: dict[str, Any] = {"@context": [EPCIS_CONTEXT]}
    if reader.namespace_of:
        doc["@context"].append(dict(reader.namespace_of))
    header = dict(reader.header)
    doc_type = header.pop("type", "EPCISDocument")
    query = {k: header.pop(k) for k in ("subscriptionID", "queryName") if k in header}
    doc["type"] = doc_type
    doc.update(header)
    if reader.ignore_fields:
        renamed = _renamed_keys(dict.fromkeys([reader.ignore_key, *reader.ignore_fields], 0), final)
        doc[next(iter(renamed))] = list(renamed)[1:]
    if doc_type == "EPCISQueryDocument":
        doc["epcisBody"] = {"queryResults": {**query, "resultsBody": {"eventList": events}}}
    else:
        doc["epcisBody"] = {"eventList": events}
    return doc


def to_xml(doc: dict[str, Any]) -> bytes:
    """An EPCIS 2.0 JSON-LD document (capture or query results) as EPCIS 2.0 XML.

    Written by :mod:`mics.trace.xml_writer`, for any stored event (imported here, when
    called: it reads this module's tables of the XML binding).
    """
    from mics.trace import xml_writer

    return xml_writer.to_xml(doc)


def read_xml_header(stream: IO[bytes]) -> dict[str, Any]:
    """The document's header (type, schemaVersion, creationDate, ``@context``) without
    reading past its first event, so that a large document is not parsed twice."""
    reader = _EventReader()
    for _ in _read(stream, reader):
        break
    header = dict(reader.header)
    context: list[Any] = [EPCIS_CONTEXT]
    if reader.namespace_of:
        context.append(dict(reader.namespace_of))
    fields: dict[str, Any] = {"@context": context, "type": header.pop("type", "EPCISDocument")}
    fields.update({k: v for k, v in header.items() if k not in ("subscriptionID", "queryName")})
    if "queryName" in header:
        fields["_queryName"] = header["queryName"]
    return fields
