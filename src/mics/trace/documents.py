"""Reading EPCIS documents as streams: the header first, then events one at a time.

A 100,000-event document is never held whole in memory: the JSON-LD binding is
read with ``ijson`` (the yajl2 C backend), once for the header and once for the
events; the XML binding with ``iterparse`` (``mics.trace.xml_binding``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import ijson

from mics.errors import InvalidInput

DOCUMENT_EVENTS = "epcisBody.eventList.item"
QUERY_EVENTS = "epcisBody.queryResults.resultsBody.eventList.item"
JSON_TYPES = ("application/json", "application/ld+json")
XML_TYPES = ("application/xml", "text/xml")


@dataclass(frozen=True)
class Header:
    """A document without its events: ``@context``, type, schemaVersion, creationDate."""

    fields: dict[str, Any]
    binding: str  # "json" or "xml"
    has_event_list: bool = True  # epcisBody holds its eventList as an array

    @property
    def context(self) -> Any:
        return self.fields.get("@context")

    @property
    def is_query(self) -> bool:
        return self.fields.get("type") == "EPCISQueryDocument"

    def as_document(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any]
        if self.is_query:
            body = {"queryResults": {"resultsBody": {"eventList": events}}}
            name = self.fields.get("_queryName")
            if name:
                body["queryResults"]["queryName"] = name
        else:
            body = {"eventList": events}
        doc = {k: v for k, v in self.fields.items() if not k.startswith("_")}
        doc["epcisBody"] = body
        return doc


def binding_for(content_type: str | None, name: str = "") -> str:
    """``json`` or ``xml`` from a Content-Type or, failing that, a file name."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in XML_TYPES or media.endswith("+xml"):
        return "xml"
    if media in JSON_TYPES or media.endswith("+json"):
        return "json"
    if name.lower().endswith(".xml"):
        return "xml"
    if not media or name.lower().endswith((".json", ".jsonld")):
        return "json"
    raise InvalidInput(
        "unsupported content type",
        field="Content-Type",
        value=content_type,
        expected="application/ld+json, application/json or application/xml",
    )


def read_header(stream: IO[bytes], binding: str) -> Header:
    if binding == "xml":
        from mics.trace import xml_binding

        stream.seek(0)
        header = xml_binding.read_xml_header(stream)
        stream.seek(0)
        return Header(header, "xml")
    stream.seek(0)
    fields: dict[str, Any] = {}
    key: str | None = None
    builder: Any = None
    query_name: Any = None
    lists = {DOCUMENT_EVENTS.removesuffix(".item"), QUERY_EVENTS.removesuffix(".item")}
    has_event_list = False
    try:
        for prefix, event, value in ijson.parse(stream, use_float=True):
            if prefix == "":
                if event == "map_key":
                    if builder is not None and key is not None:
                        fields[key] = builder.value
                    key = value
                    builder = None if key == "epcisBody" else ijson.ObjectBuilder()
                elif event not in ("start_map", "end_map"):
                    raise InvalidInput(
                        "an EPCIS document is a JSON object",
                        field="body",
                        value=str(value)[:80],
                        expected='{"@context": ..., "type": "EPCISDocument", ...}',
                    )
            elif builder is not None:
                builder.event(event, value)
            elif event == "start_array" and prefix in lists:
                has_event_list = True
            elif prefix == "epcisBody.queryResults.queryName" and event == "string":
                query_name = value
        if builder is not None and key is not None:
            fields[key] = builder.value
    except ijson.JSONError as error:
        raise _malformed(error) from error
    if query_name:
        fields["_queryName"] = query_name
    stream.seek(0)
    return Header(fields, "json", has_event_list)


def iter_events(stream: IO[bytes], header: Header) -> Iterator[dict[str, Any]]:
    """The document's events in order, one at a time."""
    stream.seek(0)
    if header.binding == "xml":
        from mics.trace import xml_binding

        yield from xml_binding.iter_xml_events(stream)
        return
    prefix = QUERY_EVENTS if header.is_query else DOCUMENT_EVENTS
    try:
        yield from ijson.items(stream, prefix, use_float=True)
    except ijson.JSONError as error:
        raise _malformed(error) from error


def _malformed(error: Exception) -> InvalidInput:
    return InvalidInput(
        f"the document is not well-formed JSON: {error}",
        field="body",
        value=None,
        expected="a well-formed EPCIS 2.0 JSON-LD document",
    )


def dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
