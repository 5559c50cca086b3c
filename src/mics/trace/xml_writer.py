"""EPCIS 2.0 XML (EPCIS 2.0 §11) written from JSON-LD query results, for any stored event.

Bare CBV terms are written as web URIs and values ``p:x`` with a declared prefix as full
URIs, so the events keep their event hashes when read back with ``parse_xml``.

A reader never fails for what a writer stored: every output is well-formed XML with its
namespaces declared (XML 1.0 and Namespaces in XML 1.0), whatever the events hold. Keys
become names through ``mics.trace.names.xml_name`` (an undeclared prefix is declared as the
IRI JSON-LD reads it as, other characters escaped ``_xHHHH_``); an extension event type
(an IRI) becomes an element in its namespace, as the EPCIS 2.0 XSD's ``xsd:any`` allows;
characters XML 1.0 cannot carry (most C0 controls, U+FFFE, U+FFFF, lone surrogates) are
written U+FFFD; two attributes of one element that name the same expanded name keep the
first. Capture refuses what would be changed so (``mics.trace.field_checks``), so this
concerns events stored before those rules, or built by MICS itself.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from mics.errors import InvalidInput
from mics.trace.canonical_uri import CONTEXT_PREFIXES, FIELD_SCOPES, FIELD_TERMS, GS1, web_uri
from mics.trace.names import xml_name
from mics.trace.xml_binding import (
    EPC_LISTS,
    EPCIS_NS,
    EVENT_TYPES,
    FIELD_ORDER,
    QUANTITY_LISTS,
    QUERY_NS,
    TYPED_LISTS,
    XSI_NS,
)
from mics.trace.xml_order import SEQUENCES

__all__ = ["to_xml"]

# What XML 1.0 (§2.2 Char) cannot carry, even as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._\-]*")
_IRI_END = re.compile(r"[A-Za-z_][A-Za-z0-9._\-]*$")  # the local name at the end of an IRI
_DEFAULT = {**CONTEXT_PREFIXES, "xsi": XSI_NS}


def to_xml(doc: dict[str, Any]) -> bytes:
    """An EPCIS 2.0 JSON-LD document (capture or query results) as EPCIS 2.0 XML."""
    prefixes = _declared(doc.get("@context"))
    body = doc.get("epcisBody")
    if not isinstance(body, dict):
        raise InvalidInput("no epcisBody object", field="epcisBody", expected="an EPCIS document")
    query = body.get("queryResults")
    results = (query or {}).get("resultsBody") or {} if isinstance(query, dict) else body
    events = results.get("eventList") or ([results["event"]] if "event" in results else [])
    root = "epcisq:EPCISQueryDocument" if query is not None else "epcis:EPCISDocument"
    namespace = QUERY_NS if query is not None else EPCIS_NS
    attributes = {f"xmlns:{root.split(':')[0]}": namespace}
    prefixes = {**_DEFAULT, **prefixes}
    attributes |= {f"xmlns:{p}": uri for p, uri in prefixes.items()}
    attributes |= {"schemaVersion": str(doc.get("schemaVersion", "2.0"))}
    if "creationDate" in doc:
        attributes["creationDate"] = str(doc["creationDate"])
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', _open(root, attributes)]
    for holder in (doc, body, query or {}):
        for key, names in holder.items():
            if key.endswith(":ignoreFields") and isinstance(names, list):
                tag, declared = xml_name(key, prefixes)
                out.append(_open(tag, declared))
                for name in names:
                    inner, more = xml_name(str(name), prefixes)
                    out.append(_open(inner, more, close=True))
                out.append(f"</{tag}>")
    out.append("<EPCISBody>")
    if query is not None:
        out.append("<epcisq:QueryResults>")
        for field in ("subscriptionID", "queryName"):
            if field in query:
                out.append(f"<{field}>{_text(query[field])}</{field}>")
        out.append("<resultsBody>")
    out.append("<EventList>")
    for event in events if isinstance(events, list) else []:
        if isinstance(event, dict):
            _write_event(event, prefixes, out)
    out.append("</EventList>")
    out.append("</resultsBody></epcisq:QueryResults>" if query is not None else "")
    out.append(f"</EPCISBody></{root}>\n")
    return "".join(out).encode("utf-8")


def _declared(context: Any) -> dict[str, str]:
    """Prefix -> namespace of a JSON-LD @context, those an XML namespace declaration can carry."""
    prefixes: dict[str, str] = {}
    for entry in context if isinstance(context, list) else [context]:
        if isinstance(entry, dict):
            prefixes |= {
                prefix: _clean(iri)
                for prefix, iri in entry.items()
                if isinstance(iri, str)
                and iri  # xmlns:p="" is no declaration in XML 1.0
                and _ASCII_NAME.fullmatch(prefix)
                and not prefix.lower().startswith("xml")
            }
    return prefixes


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _text(value: Any) -> str:
    return escape(_clean(str(value)))


def _open(tag: str, attributes: dict[str, str], close: bool = False) -> str:
    attrs = "".join(f" {name}={quoteattr(_clean(value))}" for name, value in attributes.items())
    return f"<{tag}{attrs}{'/' if close else ''}>"


def _write_event(event: dict[str, Any], prefixes: dict[str, str], out: list[str]) -> None:
    own = _declared(event.get("@context"))
    prefixes = {**prefixes, **own}
    attributes = {f"xmlns:{p}": uri for p, uri in own.items()}
    event_type = event.get("type")
    if event_type in EVENT_TYPES:
        tag = str(event_type)
    else:
        tag, declared = _type_name(str(event_type), prefixes)
        attributes |= declared
    out.append(_open(tag, attributes))
    # the order of the event type's XSD sequence: TransactionEvent and AssociationEvent
    # differ from the others (bizTransactionList, childQuantityList first)
    sequence = SEQUENCES.get(str(event.get("type")), FIELD_ORDER)
    order = [k for k in sequence if k in event]
    order += [k for k in event if k not in sequence and k not in ("type", "@context")]
    for key in order:
        _write_field(key, event[key], "event", prefixes, out)
    out.append(f"</{tag}>")


def _type_name(event_type: str, prefixes: dict[str, str]) -> tuple[str, dict[str, str]]:
    """An extension event type (an IRI) as an element in its namespace."""
    local = _IRI_END.search(event_type)
    if local is None or local.start() == 0:
        return xml_name(event_type, prefixes)
    namespace = event_type[: local.start()]
    number = 0
    while f"ext{number}" in prefixes:
        number += 1
    return f"ext{number}:{local.group()}", {f"xmlns:ext{number}": namespace}


def _scalar(key: str, value: Any, scope: str, prefixes: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str):
        text = web_uri(scope, key, text)
        prefix, colon, local = text.partition(":")
        if colon and prefix in prefixes and prefix not in ("gs1", "cbv"):
            text = prefixes[prefix] + local
        elif text.startswith(GS1) and (scope, key) in FIELD_TERMS and prefixes.get("gs1") == GS1:
            # A GS1 Web Vocabulary term (sensor type, alert) as GS1's XML examples write it;
            # capture refuses the expanded URI, which the JSON binding wants bare.
            text = "gs1:" + text[len(GS1) :]
    return text


def _attributes(
    item: dict[str, Any], scope: str, prefixes: dict[str, str], skip: str = ""
) -> dict[str, str]:
    """``item``'s fields as the attributes of one element, with the namespaces they need."""
    attributes: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    for key, value in item.items():
        if key == skip or value is None:
            continue
        name, declared = xml_name(key, prefixes)
        prefix, colon, local = name.rpartition(":")
        namespace = declared.get(f"xmlns:{prefix}") or prefixes.get(prefix, prefix)
        expanded = (namespace if colon else "", local)
        if expanded in seen:
            continue  # Namespaces in XML 1.0 §6.3: one attribute per expanded name
        seen.add(expanded)
        attributes |= declared
        attributes[name] = _scalar(key, value, scope, prefixes)
    return attributes


def _write_field(
    key: str, value: Any, scope: str, prefixes: dict[str, str], out: list[str]
) -> None:
    if value is None:
        return
    inner = FIELD_SCOPES.get((scope, key), scope)
    items = value if isinstance(value, list) else [value]
    if scope == "event" and key in EPC_LISTS:
        out.append(f"<{key}>")
        out.extend(f"<epc>{_text(epc)}</epc>" for epc in items)
        out.append(f"</{key}>")
    elif scope == "errorDeclaration" and key == "correctiveEventIDs":
        out.append(f"<{key}>")
        out.extend(f"<correctiveEventID>{_text(i)}</correctiveEventID>" for i in items)
        out.append(f"</{key}>")
    elif scope == "event" and key in QUANTITY_LISTS:
        out.append(f"<{key}>")
        for item in items:
            _write_field("quantityElement", item, "quantityElement", prefixes, out)
        out.append(f"</{key}>")
    elif scope == "event" and key in TYPED_LISTS:
        out.append(f"<{key}>")
        member = TYPED_LISTS[key]
        for item in items:
            if not isinstance(item, dict):
                item = {member: item}
            attributes = _attributes(item, inner, prefixes, skip=member)
            out.append(_open(member, attributes) + _text(item.get(member, "")) + f"</{member}>")
        out.append(f"</{key}>")
    elif scope == "event" and key == "sensorElementList":
        out.append(f"<{key}>")
        for item in items:
            _write_field("sensorElement", item, inner, prefixes, out)
        out.append(f"</{key}>")
    elif key in ("sensorMetadata", "sensorReport") and scope == "sensorElement":
        for item in items:
            if isinstance(item, dict):
                scoped = FIELD_SCOPES.get((scope, key), scope)
                out.append(_open(key, _attributes(item, scoped, prefixes), close=True))
            else:
                _write_element(key, item, inner, prefixes, out)
    else:
        for item in items:
            _write_element(key, item, inner, prefixes, out)


def _write_element(
    key: str, value: Any, scope: str, prefixes: dict[str, str], out: list[str]
) -> None:
    tag, declared = xml_name(key, prefixes)
    if not isinstance(value, dict):
        out.append(_open(tag, declared) + _text(_scalar(key, value, scope, prefixes)) + f"</{tag}>")
        return
    types = {k: v for k, v in value.items() if k.startswith("xsi:")}
    out.append(_open(tag, declared | _attributes(types, scope, prefixes)))
    prefixes = {**prefixes, **{p.removeprefix("xmlns:"): iri for p, iri in declared.items()}}
    if "#text" in value:
        out.append(_text(value["#text"]))
    for child in _in_sequence(key, value):
        if child != "#text" and not child.startswith("xsi:"):
            _write_field(child, value[child], scope, prefixes, out)
    out.append(f"</{tag}>")


def _in_sequence(key: str, value: dict[str, Any]) -> list[str]:
    """``value``'s keys in the order of ``key``'s XSD sequence (``xml_order.SEQUENCES``:
    sensorElement, persistentDisposition, quantityElement, ...), extensions after them in
    their own order; JSON-LD objects are unordered, XML sequences are not."""
    sequence = SEQUENCES.get(key) if key not in EVENT_TYPES else None
    if sequence is None:
        return list(value)
    return [k for k in sequence if k in value] + [k for k in value if k not in sequence]
