"""Reading EPCIS documents: the header first, then events one at a time.

A JSON-LD document of at most ``WHOLE_JSON_BYTES`` is parsed in one ``orjson``
pass (~0.16 s for 14 MiB, against ~0.5 s for the two ``ijson`` passes below);
its events are then handed out and released one at a time. A larger one (a
100,000-event document is ~70 MiB) is never held whole in memory: it is read
with ``ijson`` (the yajl2 C backend), once for the header and once for the
events. Both paths give the same header, events and errors: a document the
one-pass parser would read differently from ``ijson`` (malformed, integers of
19 digits or more, keys holding dots) takes the streaming path. Before either,
``mics.trace.json_text`` refuses what neither may build: text that is not UTF-8,
nesting deeper than its ``MAX_DEPTH``, a key twice in one object. The XML
binding is read with ``iterparse`` (``mics.trace.xml_binding``).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

from mics.errors import InvalidInput
from mics.runtime import heap
from mics.trace import json_text

DOCUMENT_EVENTS = "epcisBody.eventList.item"
QUERY_EVENTS = "epcisBody.queryResults.resultsBody.eventList.item"
JSON_TYPES = ("application/json", "application/ld+json")
XML_TYPES = ("application/xml", "text/xml")
# Largest JSON document parsed whole: ~3.9x its size in Python objects (14 MiB -> 54 MiB), so
# at most ~125 MiB a capture, freed event by event as capture goes.
WHOLE_JSON_BYTES = 32 * 1024 * 1024
_BODY_KEYS = (b'"epcisBody"', b'"queryResults"', b'"resultsBody"', b'"eventList"', b'"queryName"')
_DIGITS = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))  # digit -> "0", rest -> " "
_LONG_RUN = b"0" * 19  # int64 has 19 digits; yajl rejects larger integers, orjson does not


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


@contextmanager
def opened(stream: IO[bytes], binding: str) -> Iterator[tuple[Header, Iterator[dict[str, Any]]]]:
    """The document's header and an iterator over its events, for the ``with`` block.

    A JSON document held whole keeps the cyclic garbage collector off it meanwhile
    (``mics.runtime.heap.parsed_frozen``): its ~300,000 dicts and lists (20,000 events)
    would otherwise be scanned by every full collection, three of them a capture
    (~0.1 s each, ~10% of the capture).

    A JSON document is checked first (``mics.trace.json_text``): its encoding, nesting
    and keys, before either parser builds anything of it.
    """
    if binding == "json":
        json_text.check(stream)
        data = _one_pass_text(stream)
        if data is not None:
            frozen = heap.parsed_frozen(data, _loads)
            del data
            with frozen as document:
                whole = _split(document)
                del document
                if whole is not None:
                    yield whole
                    return
    header = read_header(stream, binding)
    yield header, iter_events(stream, header)


def _one_pass_text(stream: IO[bytes]) -> bytes | None:
    """The whole text of a small document for one ``orjson`` pass, or None where
    ``ijson`` must decide."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    if size > WHOLE_JSON_BYTES:
        return None
    stream.seek(0)
    data = stream.read()
    stream.seek(0)
    # A key spelt with \u escapes ("event\u004cist") can repeat one that the byte
    # count below looks for: such documents take the streaming path, which reads
    # them as before. Escapes in values (accented text) keep the one pass.
    if (
        (b"\\u" in data and _ESCAPED_KEY.search(data))
        or _long_integer(data)
        or any(data.count(key) > 1 for key in _BODY_KEYS)
    ):
        return None
    return data


def _loads(data: bytes) -> Any:
    """``orjson.loads``, or None where it refuses the text (``ijson`` then names the error)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _read_whole(stream: IO[bytes]) -> tuple[Header, Iterator[dict[str, Any]]] | None:
    """The header and events of a small document read in one plain ``orjson`` pass (not
    frozen), or None where ``ijson`` must decide: what ``opened`` does, for tests."""
    data = _one_pass_text(stream)
    return None if data is None else _split(_loads(data))


def _split(document: Any) -> tuple[Header, Iterator[dict[str, Any]]] | None:
    """A parsed document's header and events, or None where ``ijson`` would read it
    otherwise (not an object, keys holding dots)."""
    if not isinstance(document, dict):
        return None  # ijson's error message or verdict, from the streaming path
    if any("." in key for key in document):
        return None  # a top-level "epcisBody.eventList" would be events to ijson
    body = document.get("epcisBody")
    results = body.get("queryResults") if isinstance(body, dict) else None
    rows = results.get("resultsBody") if isinstance(results, dict) else None
    if any(isinstance(d, dict) and any("." in k for k in d) for d in (body, results, rows)):
        return None  # ijson prefixes join keys with dots: "a.b" and a -> b would clash
    document.pop("epcisBody", None)
    lists = [d.get("eventList") if isinstance(d, dict) else None for d in (body, rows)]
    name = results.get("queryName") if isinstance(results, dict) else None
    if isinstance(name, str) and name:
        document["_queryName"] = name
    header = Header(document, "json", any(isinstance(e, list) for e in lists))
    events = lists[1] if header.is_query else lists[0]
    del body, results, rows, lists
    return header, _release(events if isinstance(events, list) else [])


# A string holding a \u escape and followed by a colon: an object key.
_ESCAPED_KEY = re.compile(rb'\\u[0-9A-Fa-f]{4}(?:[^"\\]|\\.)*"\s*:')


def _long_integer(data: bytes) -> bool:
    """Whether ``data`` may hold an integer of 19 digits or more (~25 ms for 14 MiB).

    A run of 19 digits between a ``:``, ``,`` or ``[`` and a ``,``, ``]`` or ``}`` (JSON
    whitespace and a minus sign aside) may be a number; elsewhere it is inside a string.
    Unsure (long whitespace) counts as a number: the streaming path then decides.
    """
    digits = data.translate(_DIGITS)
    start = digits.find(_LONG_RUN)
    while start >= 0:
        end = start + len(_LONG_RUN)
        while digits[end : end + 1] == b"0":
            end += 1
        before = data[max(0, start - 256) : start].rstrip(b" \t\r\n-")[-1:]
        after = data[end : end + 256].lstrip(b" \t\r\n")[:1]
        if before in (b"", b":", b",", b"[") and after in (b"", b",", b"]", b"}"):
            return True
        start = digits.find(_LONG_RUN, end)
    return False


def _release(events: list[Any]) -> Iterator[Any]:
    """Events in order, each dropped from ``events`` as it is handed out."""
    events.reverse()
    while events:
        yield events.pop()


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
    except (ijson.JSONError, UnicodeDecodeError) as error:
        raise json_text.malformed(error, stream) from error
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
    except (ijson.JSONError, UnicodeDecodeError) as error:
        raise json_text.malformed(error, stream) from error


def dumps(event: dict[str, Any]) -> str:
    """Compact JSON text of an event, as ``json.dumps(event, ensure_ascii=False)`` reads back.

    ``orjson`` writes 20,000 bench events in 0.017 s against 0.114 s; its text differs only in
    float exponents (``1e-7`` for ``1e-07``), which read back equal. It writes NaN and
    infinities as ``null`` and refuses integers beyond 64 bits, keys that are not strings and
    lone surrogates: those events, and any with a null, are written by ``json`` as before.
    """
    try:
        text = orjson.dumps(event)
    except TypeError:  # orjson.JSONEncodeError
        text = b"null"
    if b"null" in text:
        return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    return text.decode()
