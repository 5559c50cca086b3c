"""EPCIS event hash ID (CBV 2.0 §8.9): ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920).

The pre-hash string of an event is ``eventType=<type>`` followed by its fields in the canonical
property order of CBV 2.0 §8.9.2 as ``key=value`` pairs with no separator; values of a list are
sorted; times are UTC with millisecond precision (§8.9 rules 8 and 9); CBV URNs and bare CBV
terms become web URIs (rules 14 and 16); EPC URIs and Digital Link URIs become constrained
canonical Digital Link URIs (rules 17 and 18, see :mod:`mics.trace.canonical_uri`); ILMD and user
extensions are ``{namespace}localName=value`` sorted after the standard fields (rules 19-21).
``eventID``, ``recordTime``, ``errorDeclaration``, comments (``rdfs:comment``) and fields a
document lists under ``…:ignoreFields`` take no part.

Events are EPCIS 2.0 JSON-LD dicts (the shape of the JSON binding, EPCIS 2.0 §12). The walk
reproduces the reference implementation (RalphTro/epcis-event-hash-generator, the source of the
``.hashes`` test files) string for string, quirks included, with these deliberate differences:

* bare CBV terms are expanded per event, not per document (the reference lets one event's
  terms change another event's hash);
* extension keys ending in ``List`` are kept as written, as the XML path does (the JSON path of
  the reference renames their children);
* booleans are ``true``/``false`` as in XML (the reference's JSON path writes Python's ``True``);
* ``gs1:`` and ``cbv:`` CURIE values are always expanded, and keys may use the EPCIS context's
  own prefixes (``cbvmda:``) without declaring them again (rule 15; the reference's JSON path
  only expands prefixes the document itself declares);
* ``null`` fields are absent; a time rounding up to the next second carries over; and a
  ``bizTransaction``/``source``/``destination`` without ``type`` hashes (the reference drops it);
* ``@xmlns:p`` keys (EPCIS 1.2-to-2.0 converters) declare prefix ``p`` for their object, as an
  ``@context`` would, and are no field;
* the master-data namespace is ``urn:epcglobal:cbv:mda:`` (the EPCIS 2.0 context's) however a
  document declared it, and CURIE values of XML (``ext1:x`` with ``xmlns:ext1``) are expanded
  when read (:mod:`mics.trace.xml_binding`): one event, one hash, in JSON-LD and in XML.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from mics.errors import InvalidInput
from mics.trace.canonical_uri import (
    CONTEXT_PREFIXES,
    FIELD_SCOPES,
    FIELD_TERMS,
    NAMESPACE_ALIASES,
    STANDARD_PREFIXES,
)
from mics.trace.json_text import check_depth
from mics.trace.prehash_fields import bare_terms as _bare_terms
from mics.trace.prehash_fields import canonical_text as _canonical
from mics.trace.prehash_fields import fast_prehash
from mics.trace.prehash_fields import utc_millis as _utc_millis

__all__ = ["document_events", "document_hashes", "document_prehashes", "event_hash", "prehash"]


# A node mirrors one XML element: (name, text, children); a pair holds the two nodes of a
# bizTransaction / source / destination (type first) and is a tuple.
Node = list[Any]
Pair = tuple[Any, ...]
Child = Node | Pair
_Order = tuple[tuple[str, "_Order | None"], ...]

_QUANTITY: _Order = (("quantityElement", (("epcClass", None), ("quantity", None), ("uom", None))),)
_EPC: _Order = (("epc", None),)
_SENSOR_METADATA = (
    "time startTime endTime deviceID deviceMetadata rawData dataProcessingMethod bizRules"
)
_SENSOR_REPORT = (
    "type exception deviceID deviceMetadata rawData dataProcessingMethod time microorganism "
    "chemicalSubstance value component stringValue booleanValue hexBinaryValue uriValue minValue "
    "maxValue meanValue sDev percRank percValue uom coordinateReferenceSystem"
)
# CBV 2.0 §8.9.2 canonical property order. bizTransactionList, sourceList and destinationList are
# written with the remaining fields, sorted, which is where the reference puts them.
ORDER: _Order = (
    ("eventTime", None), ("eventTimeZoneOffset", None), ("certificationInfo", None),
    ("parentID", None), ("epcList", _EPC), ("inputEPCList", _EPC), ("childEPCs", _EPC),
    ("quantityList", _QUANTITY), ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY), ("outputEPCList", _EPC), ("outputQuantityList", _QUANTITY),
    ("action", None), ("transformationID", None), ("bizStep", None), ("disposition", None),
    ("persistentDisposition", (("set", None), ("unset", None))), ("readPoint", (("id", None),)),
    ("bizLocation", (("id", None),)),
    ("sensorElementList", (("sensorElement", (
        ("sensorMetadata", tuple((name, None) for name in _SENSOR_METADATA.split())),
        ("sensorReport", tuple((name, None) for name in _SENSOR_REPORT.split())),
    )),)),
)  # fmt: skip
_IGNORED_EVENT_FIELDS = frozenset({"recordTime", "eventID", "type", "errorDeclaration"})
_IGNORED_KEYS = frozenset({"#text", "rdfs:comment", "comment", "@context"})
_XMLNS = "@xmlns:"
_PAIR_LISTS = {"bizTransactionList", "sourceList", "destinationList"}
_PAIR_KEYS = frozenset({"bizTransaction", "source", "destination"})
_RENAMED = {"inputEPC": "epc", "outputEPC": "epc", "inputQuantity": "quantityElement"}
_RENAMED |= {"outputQuantity": "quantityElement", "childQuantity": "quantityElement"}


def prehash(
    event: dict[str, Any],
    context: dict[str, Any] | list[Any] | str | None = None,
    *,
    ignore: Collection[str] = (),
) -> str:
    """The CBV 2.0 §8.9 pre-hash string of one EPCIS 2.0 JSON-LD event.

    ``context`` is the document's ``@context`` (it declares the prefixes of extension fields such
    as ``example:myField``); ``ignore`` names further fields to leave out, as written in the event
    (``example:captureID``) or expanded (``{https://ns.example.com/epcis/}captureID``).
    """
    if not isinstance(event, dict):
        raise InvalidInput(
            "an event must be a JSON object", field="event", value=type(event).__name__
        )
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise InvalidInput(
            "missing or non-string event type",
            field="type",
            value=event_type,
            expected="ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, "
            "AssociationEvent",
        )
    prefixes = _prefixes(context)
    try:
        return _prehash(event, event_type, prefixes, ignore)
    except RecursionError:
        # The walk recurses per level: a value nested too deep for Python is named here.
        # Capture refuses such documents before (mics.trace.json_text); a library caller
        # may pass anything.
        check_depth(event)
        raise


def _prehash(
    event: dict[str, Any], event_type: str, prefixes: dict[str, str], ignore: Collection[str]
) -> str:
    if "@context" in event:
        prefixes = {**prefixes, **_prefixes(event["@context"])}
    elif not ignore:
        fast = fast_prehash(event, event_type, prefixes)
        if fast is not None:
            return fast
    walk = _Walk(prefixes, frozenset(ignore))
    children = _correct(["", "", walk.children(event, "event")])[2]
    writer = _Writer(walk.bare_terms())
    ordered = writer.ordered(children, ORDER)
    rest = [child for child in children if child[0] not in _IGNORED_EVENT_FIELDS]
    return "eventType=" + event_type + ordered + writer.generic(rest)


def event_hash(
    event: dict[str, Any],
    context: dict[str, Any] | list[Any] | str | None = None,
    *,
    ignore: Collection[str] = (),
) -> str:
    """The event hash ID ``ni:///sha-256;<hex>?ver=CBV2.0`` of one EPCIS 2.0 JSON-LD event."""
    return _ni(prehash(event, context, ignore=ignore))


def _ni(text: str) -> str:
    """RFC 6920 ``ni`` URI of SHA-256 over the UTF-8 pre-hash, versioned by CBV (§8.9.3)."""
    return f"ni:///sha-256;{hashlib.sha256(text.encode('utf-8')).hexdigest()}?ver=CBV2.0"


def document_events(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an EPCISDocument or EPCISQueryDocument, in document order."""
    body = doc.get("epcisBody") if isinstance(doc, dict) else None
    if not isinstance(body, dict):
        raise InvalidInput(
            "no epcisBody object", field="epcisBody", value=None, expected="an EPCIS document"
        )
    if "queryResults" in body:
        body = (body.get("queryResults") or {}).get("resultsBody") or {}
    if "event" in body:
        return [body["event"]]
    events = body.get("eventList", [])
    if not isinstance(events, list):
        raise InvalidInput(
            "eventList must be a list", field="eventList", value=type(events).__name__
        )
    return events


def document_prehashes(doc: dict[str, Any]) -> list[str]:
    """Pre-hash strings of the events of an EPCIS(Query)Document, in document order.

    Fields the document lists under a ``…:ignoreFields`` key (at the top, in ``epcisBody`` or in
    ``queryResults``) are left out of every event.
    """
    context = doc.get("@context")
    ignore = set(_ignored_fields(doc, {**CONTEXT_PREFIXES, **_prefixes(context)}))
    return [prehash(event, context, ignore=ignore) for event in document_events(doc)]


def document_hashes(doc: dict[str, Any]) -> list[str]:
    """Event hash IDs of the events of an EPCISDocument or EPCISQueryDocument, in document order."""
    return [_ni(text) for text in document_prehashes(doc)]


def _ignored_fields(doc: dict[str, Any], prefixes: dict[str, str]) -> Iterator[str]:
    body = doc.get("epcisBody") or {}
    for holder in (doc, body, body.get("queryResults") or {}):
        for key, names in holder.items():
            if key.endswith(":ignoreFields") and isinstance(names, list):
                for name in names:
                    yield str(name)
                    yield _expand_key(str(name), prefixes)


def _prefixes(context: Any) -> dict[str, str]:
    """Prefix -> namespace declared in a JSON-LD @context (remote contexts add none).

    A namespace written two ways (``urn:epcglobal:cbv:mda``) becomes its one form, so that
    ``cbvmda:lotNumber`` hashes alike whichever the document declared.
    """
    prefixes: dict[str, str] = {}
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            for prefix, value in entry.items():
                if isinstance(value, str) and not prefix.startswith("@"):
                    prefixes[prefix] = NAMESPACE_ALIASES.get(value, value)
    return prefixes


def _xmlns_prefixes(obj: dict[str, Any]) -> dict[str, str]:
    """Prefix -> namespace of the ``@xmlns:prefix`` keys of one JSON-LD object.

    EPCIS 1.2-to-2.0 converters carry the XML namespace declarations of an extension element
    this way. JSON-LD drops ``@``-keys it does not know, so they are no data; they declare the
    prefixes of the object and of what it holds, as an ``@context`` would (CBV 2.0 §8.9
    rule 19: extension names are written ``{namespace}localName``).
    """
    found: dict[str, str] = {}
    for key, value in obj.items():
        if key.startswith(_XMLNS) and isinstance(value, str) and len(key) > len(_XMLNS):
            found[key[len(_XMLNS) :]] = NAMESPACE_ALIASES.get(value, value)
    return found


def _expand_key(key: str, prefixes: dict[str, str]) -> str:
    prefix, colon, local = key.partition(":")
    if colon and prefix in prefixes:
        return "{" + prefixes[prefix] + "}" + local
    return key


class _Walk:
    """Turns a JSON-LD dict into nodes, collecting the CBV web URIs it uses (for bare terms)."""

    __slots__ = ("ignore", "key_prefixes", "prefixes", "web_terms")

    def __init__(self, prefixes: dict[str, str], ignore: frozenset[str]) -> None:
        self.prefixes = prefixes  # values "p:x" expand only with prefixes the document declares
        self.key_prefixes = {**CONTEXT_PREFIXES, **prefixes}
        self.ignore = ignore
        self.web_terms: set[str] = set()

    def children(self, obj: dict[str, Any], scope: str) -> list[Child]:
        declared = _xmlns_prefixes(obj) if any(k.startswith(_XMLNS) for k in obj) else None
        if not declared:
            return self._children(obj, scope)
        outer = self.prefixes, self.key_prefixes
        self.prefixes = {**self.prefixes, **declared}
        self.key_prefixes = {**self.key_prefixes, **declared}
        try:
            return self._children(obj, scope)
        finally:
            self.prefixes, self.key_prefixes = outer

    def _children(self, obj: dict[str, Any], scope: str) -> list[Child]:
        out: list[Child] = []
        for key, value in obj.items():
            if value is None or key in _IGNORED_KEYS or key in self.ignore:
                continue
            if key.startswith(_XMLNS):
                continue  # a namespace declaration (see _xmlns_prefixes), not a field
            name = _expand_key(key, self.key_prefixes) if ":" in key else key
            if name in self.ignore or name == "{http://www.w3.org/2000/01/rdf-schema#}comment":
                continue
            where = (scope, key)
            inner = FIELD_SCOPES.get(where, scope)
            terms = FIELD_TERMS.get(where)
            for item in value if isinstance(value, list) else (value,):
                if item is not None:
                    own = self._own_name(key, item) if ":" in key else None
                    out.append(self.node(own or name, item, inner, terms))
        return out

    def _own_name(self, key: str, item: Any) -> str | None:
        """The name of an object that declares its own key's prefix (``<p:x xmlns:p=…>``)."""
        if not isinstance(item, dict) or not any(k.startswith(_XMLNS) for k in item):
            return None
        return _expand_key(key, {**self.key_prefixes, **_xmlns_prefixes(item)})

    def node(self, name: str, value: Any, scope: str, terms: dict[str, str] | None) -> Node:
        if isinstance(value, dict):
            text = value.get("#text", "")
            return [name, str(self.seen(text, None)), self.children(value, scope)]
        if isinstance(value, str):
            value = self.seen(value, terms)
            prefix, colon, local = value.partition(":")
            if colon:
                if prefix in self.prefixes:
                    return [name, self.prefixes[prefix] + local, []]
                if prefix in STANDARD_PREFIXES:
                    return [name, STANDARD_PREFIXES[prefix] + local, []]
            return [name, value, []]
        if isinstance(value, bool):
            return [name, "true" if value else "false", []]
        if isinstance(value, list):
            return [name, "", [self.node("", item, scope, terms) for item in value]]
        return [name, str(value), []]

    def seen(self, value: Any, terms: dict[str, str] | None) -> Any:
        """Note the CBV/GS1 web URI a value stands for (what JSON-LD expansion would give)."""
        if not isinstance(value, str):
            return value
        if terms is not None and value in terms:
            self.web_terms.add(terms[value])
        elif value.startswith(("https://ref.gs1.org/cbv", "https://gs1.org/voc")):
            self.web_terms.add(value)
        elif value.startswith(("cbv:", "gs1:")):
            self.web_terms.add(STANDARD_PREFIXES[value[:3]] + value[4:])
        return value

    def bare_terms(self) -> dict[str, str]:
        return _bare_terms(frozenset(self.web_terms))


def _correct(node: Node) -> Node:
    """Give JSON nodes the XML element structure: ``epcList`` -> ``epc`` children, etc."""
    lists: dict[str, list[Node]] = {}
    child_epcs: list[Child] = []
    children: list[Child] = []
    for child in node[2]:
        name = child[0]
        if name.endswith("List") and not name.startswith("{"):
            lists.setdefault(name, []).append(child)
        elif name == "childEPCs":
            child_epcs.append(["epc", child[1], []])
        else:
            children.append(_correct(child))
    for name, members in lists.items():
        if name in _PAIR_LISTS:
            children.append([name, "", [tuple(member[2][:2]) for member in members]])
        else:
            item = _RENAMED.get(name[:-4], name[:-4])
            items = [_correct([item, m[1], m[2]]) for m in members]
            for member in items:
                if member[0] == "quantity" and member[2]:
                    member[0] = "quantityElement"
            children.append([name, "", items])
    if child_epcs:
        children.append(["childEPCs", "", child_epcs])
    return [node[0], node[1], children]


class _Writer:
    """Writes nodes as the pre-hash string: standard fields in order, then the rest sorted."""

    __slots__ = ("bare",)

    def __init__(self, bare: dict[str, str]) -> None:
        self.bare = bare

    def ordered(self, children: list[Child], order: _Order) -> str:
        """Fields named in ``order``; a written node leaves ``children`` once it is empty."""
        extensions = _take_extensions(children)
        ranks = _ranks(order)
        by_name: dict[str, list[Node]] = {}
        for child in children:
            if isinstance(child, list) and child[0] in ranks:
                by_name.setdefault(child[0], []).append(child)
        out: list[str] = []
        done: set[int] = set()
        for name in sorted(by_name, key=ranks.__getitem__):
            values = []
            sub_order = ranks[name][1]
            for child in by_name[name]:
                written = self.field(child, sub_order)
                if written:
                    values.append(written)
                if not child[2]:
                    done.add(id(child))
            values.sort()
            out.extend(values)
        if done:
            children[:] = [child for child in children if id(child) not in done]
        if extensions:
            out.append(self.generic(extensions))
        return "".join(out)

    def field(self, node: Node, sub_order: _Order | None) -> str:
        inner = self.ordered(node[2], sub_order) if sub_order else ""
        text: str = node[1]
        if text:
            text = self.bare.get(text, text).strip()
            name = node[0].lower()
            text = (
                _utc_millis(text) if "time" in name and "offset" not in name else _canonical(text)
            )
            if text:
                text = "=" + text
        return node[0] + text + inner if text or inner else ""

    def generic(self, children: Iterable[Child]) -> str:
        """Any nodes: ``name=value`` then children, siblings sorted (a pair keeps type first)."""
        out = []
        sort = True
        for child in children:
            if isinstance(child, tuple):
                out.append(self.generic(child))
                continue
            if child[0] in _PAIR_KEYS:
                sort = False
            text: str = child[1]
            if text:
                text = self.bare.get(text, text).strip()
                if text:
                    text = "=" + _canonical(text)
            out.append(child[0] + text + self.generic(child[2]))
        if sort:
            out.sort()
        return "".join(out)


_RANKS: dict[int, dict[str, tuple[int, _Order | None]]] = {}


def _ranks(order: _Order) -> dict[str, tuple[int, _Order | None]]:
    """Field name -> (place in ``order``, order of its children); computed once per order."""
    ranks = _RANKS.get(id(order))
    if ranks is None:
        ranks = _RANKS[id(order)] = {name: (i, sub) for i, (name, sub) in enumerate(order)}
    return ranks


def _take_extensions(children: list[Child]) -> list[Child]:
    """Remove and return the user extensions of a standard field (CBV 2.0 §8.9 rule 21)."""
    if len(children) <= 1:
        return []
    names = [child[0] for child in children if isinstance(child, list)]
    if any("eventTime" in name or "action" in name for name in names):
        return []  # the event itself: its extensions go with the remaining fields
    extensions: list[Child] = []
    kept: list[Child] = []
    for child in children:
        is_extension = isinstance(child, list) and "{" in child[0] and "/}" in child[0]
        (extensions if is_extension else kept).append(child)
    if extensions:
        children[:] = kept
    return extensions
