"""Hostile capture documents are refused as problems naming where, before anything is built.

Nesting deeper than ``MAX_DEPTH`` (issue 13 items 1 and 2), bytes that are not UTF-8 and
escapes that are no Unicode character (item 2), and a key twice in one object (item 10):
each refused on every path (JSON read whole or streamed, XML, a parsed dict, the worker
processes), and a refused document stores no event and no log leaf.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from tests.support import EPCIS_CONTEXT, epcis_document

from mics.db import Database
from mics.errors import InvalidInput, TooLarge
from mics.ledger.store import log
from mics.registry.demo import ensure_instance
from mics.trace import capture, documents, json_text
from mics.trace.event_hash import event_hash, prehash
from mics.trace.store import EventRow
from mics.trace.xml_binding import parse_xml

LIMIT = json_text.MAX_DEPTH
CONTEXT = [*EPCIS_CONTEXT, {"example": "https://ns.example.com/epcis/"}]
EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "action": "ADD",
    "eventTime": "2026-01-01T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": ["urn:epc:id:sgtin:8012345.000001.BA00002"],
    "ilmd": {"example:x": "HERE"},
}
# The document, epcisBody, eventList, the event and its ilmd: five levels above the value.
ABOVE = 5
WHERE = "/epcisBody/eventList/0/ilmd/example:x"


def document_text(value: str, event: dict[str, Any] = EVENT) -> bytes:
    """A capture document whose ``example:x`` holds ``value``, JSON text spliced in."""
    text = json.dumps(epcis_document([event], **{"@context": CONTEXT}))
    return text.replace('"HERE"', value).encode()


def objects(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


def arrays(levels: int) -> str:
    return "[" * levels + "1" + "]" * levels


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    return db


@pytest.fixture(params=["whole", "streamed"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each JSON document read whole (orjson) and streamed (ijson), as a large one is."""
    if request.param == "streamed":
        monkeypatch.setattr(documents, "WHOLE_JSON_BYTES", 0)
    return str(request.param)


def stored(db: Database) -> tuple[int, int]:
    """Events and log leaves in the repository."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(EventRow)) or 0), log.size(s)


def captured(db: Database, data: bytes, binding: str = "json") -> capture.CaptureResult:
    return capture.capture_stream(db, io.BytesIO(data), binding, "op")


# --- nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "steps"),
    [
        (objects(600), "/a"),  # 600 levels: RecursionError in event_hash before (issue 13)
        (arrays(1000), "/0"),
        (objects(LIMIT - ABOVE + 1), "/a"),  # one level past the limit
        (arrays(LIMIT - ABOVE + 1), "/0"),
    ],
)
def test_nesting_past_the_limit_is_refused_naming_the_first_level_too_deep(
    repo: Database, path: str, value: str, steps: str
) -> None:
    with pytest.raises(TooLarge) as refused:
        captured(repo, document_text(value))
    assert refused.value.field == WHERE + steps * (LIMIT - ABOVE)
    assert refused.value.value == LIMIT + 1
    assert refused.value.status == 413
    assert stored(repo) == (0, 0)


def test_nesting_up_to_the_limit_is_captured(repo: Database, path: str) -> None:
    result = captured(repo, document_text(objects(LIMIT - ABOVE)))
    assert result.captured == 1
    assert stored(repo) == (1, 1)


def test_a_deep_document_is_refused_before_a_parser_builds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing reaches orjson or ijson's builders: they are what grew with depth squared."""
    built: list[str] = []
    monkeypatch.setattr(documents, "_read_whole", lambda stream: built.append("whole"))
    monkeypatch.setattr(documents, "read_header", lambda *args: built.append("header"))
    data = document_text(arrays(100_000))
    with pytest.raises(TooLarge), documents.opened(io.BytesIO(data), "json"):
        pass
    assert built == []


def test_a_deep_xml_document_is_refused_naming_line_and_column(repo: Database) -> None:
    levels = 500  # RecursionError in event_hash before (issue 13)
    data = xml_document("<e:a>" * levels + "1" + "</e:a>" * levels)
    with pytest.raises(TooLarge) as refused:
        captured(repo, data, "xml")
    assert refused.value.field == "xml"
    # Just after the start tag of the first element too deep, as expat counts (from 0): the
    # event's ilmd is the fifth element, so the (LIMIT - 4)th <e:a>.
    column = data.index(b"<e:a>") + len(b"<e:a>") * (LIMIT - 4)
    assert refused.value.value == f"line 1, column {column}"
    assert stored(repo) == (0, 0)
    with pytest.raises(TooLarge):
        parse_xml(data)


def test_xml_nesting_up_to_the_limit_is_captured(repo: Database) -> None:
    levels = LIMIT - 5
    assert captured(repo, xml_document("<e:a>" * levels + "1" + "</e:a>" * levels), "xml").captured
    assert stored(repo) == (1, 1)


def xml_document(ilmd: str) -> bytes:
    return (
        '<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" '
        'creationDate="2026-01-01T10:00:00Z"><EPCISBody><EventList><ObjectEvent>'
        "<eventTime>2026-01-01T10:00:00Z</eventTime><eventTimeZoneOffset>+00:00"
        "</eventTimeZoneOffset><epcList/><action>ADD</action>"
        f'<ilmd xmlns:e="https://ns.example.com/epcis/">{ilmd}</ilmd>'
        "</ObjectEvent></EventList></EPCISBody></epcis:EPCISDocument>"
    ).encode()


def test_a_deep_parsed_document_is_refused_before_capture(repo: Database) -> None:
    value: Any = 1
    for _ in range(2000):
        value = [value]
    event = EVENT | {"ilmd": {"example:x": value}}
    with pytest.raises(TooLarge) as refused:
        capture.capture_document(repo, epcis_document([event], **{"@context": CONTEXT}), "op")
    assert refused.value.field == WHERE + "/0" * (LIMIT - ABOVE)
    assert stored(repo) == (0, 0)


def test_event_hash_of_a_deep_event_is_a_problem_not_a_recursion_error() -> None:
    value: Any = 1
    for _ in range(5000):
        value = {"example:y": value}
    event = EVENT | {"ilmd": {"example:x": value}}
    for digest in (event_hash, prehash):
        with pytest.raises(TooLarge) as refused:
            digest(event, CONTEXT)
        assert refused.value.field == "/ilmd/example:x" + "/example:y" * (LIMIT - 2)


def test_deep_documents_refused_before_worker_processes_see_them(
    repo: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several batches go to worker processes (mics.runtime.process_pool): refused before them."""
    monkeypatch.setenv("MICS_CAPTURE_WORKERS", "1")
    monkeypatch.setattr(capture, "BATCH", 1)
    deep = EVENT | {"epcList": ["urn:epc:id:sgtin:8012345.000001.BA00003"]}
    text = json.dumps(epcis_document([EVENT, deep], **{"@context": CONTEXT}))
    spliced = text.replace('"HERE"', '"1"', 1).replace('"HERE"', objects(700))
    with pytest.raises(TooLarge) as refused:
        captured(repo, spliced.encode())
    assert refused.value.field == "/epcisBody/eventList/1/ilmd/example:x" + "/a" * (LIMIT - ABOVE)
    assert stored(repo) == (0, 0)


# --- bytes that are not UTF-8, escapes that are no character ---------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\xc0\xaf",  # overlong "/"
        b"\xed\xa0\x80",  # CESU-8: an encoded surrogate
        b"\xe0\x80\xaf",  # overlong, three bytes
        b"\xff",
        b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    ],
)
def test_bytes_that_are_not_utf8_are_refused_naming_byte_line_and_column(
    repo: Database, path: str, raw: bytes
) -> None:
    data = document_text('"a\\nb"').replace(b"a\\nb", b"ab" + raw)
    data = data.replace(b'"@context"', b'\n  "@context"')
    offset = data.index(raw)
    with pytest.raises(InvalidInput) as refused:
        captured(repo, data)
    assert refused.value.status == 422
    assert refused.value.field == "body"
    column = offset - data.rindex(b"\n", 0, offset)
    assert refused.value.value == f"byte {offset} (line 2, column {column})"
    assert stored(repo) == (0, 0)


@pytest.mark.parametrize(
    "escaped",
    ["\\ud800", "x\\udc00", "\\ud800\\u0041", "\\udbff", "\\ud83d\\ud83d\\ude00"],
)
def test_escapes_of_unpaired_surrogates_are_refused(
    repo: Database, path: str, escaped: str
) -> None:
    """RFC 7493 (I-JSON) §2.1; ijson turned them into '?', so a different value was stored."""
    data = document_text(f'"{escaped}"')
    with pytest.raises(InvalidInput) as refused:
        captured(repo, data)
    offset = data.index(b"\\ud") if escaped[0] == "\\" else data.index(b"\\udc")
    assert refused.value.value.startswith(f"byte {offset} ")
    assert stored(repo) == (0, 0)


@pytest.mark.parametrize(
    "escaped", ["\\ud83d\\ude00", "\\\\ud800", "\\u00e9", "\\\\\\ud83d\\ude00"]
)
def test_paired_surrogates_and_escaped_backslashes_are_text(
    repo: Database, path: str, escaped: str
) -> None:
    data = document_text(f'"{escaped}"')
    assert captured(repo, data).captured == 1
    expected = json.loads(f'"{escaped}"')
    with repo.read() as s:
        body = json.loads(s.scalar(select(EventRow.body)) or "")
    assert body["ilmd"]["example:x"] == expected


# --- duplicate keys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "pointer", "key"),
    [
        # two event lists: a standard JSON reader keeps the last, capture stored both (issue 13)
        ('"epcisBody"', '"epcisBody": {"eventList": []}, "epcisBody"', "/epcisBody", "epcisBody"),
        ('"eventList"', '"eventList": [], "eventList"', "/epcisBody/eventList", "eventList"),
        ('"action"', '"action": "OBSERVE", "action"', "/epcisBody/eventList/0/action", "action"),
        ('"HERE"', '{"b": {"c": 1, "c": 2}}', WHERE + "/b/c", "c"),
        ('"HERE"', '[0, {"c": 1, "d": 2, "c": 3}]', WHERE + "/1/c", "c"),
        # the same key spelt with an escape is the same key
        ('"eventList"', '"eventList": [], "event\\u004cist"', "/epcisBody/eventList", "eventList"),
        ('"@context"', '"@context": [], "@context"', "/@context", "@context"),
        ('"HERE"', '{"a~/b": 1, "a~/b": 2}', WHERE + "/a~0~1b", "a~/b"),
    ],
)  # fmt: skip
def test_a_key_twice_in_one_object_is_refused_naming_its_pointer(
    repo: Database, path: str, before: str, after: str, pointer: str, key: str
) -> None:
    data = document_text('"HERE"').replace(before.encode(), after.encode(), 1)
    with pytest.raises(InvalidInput) as refused:
        captured(repo, data)
    assert (refused.value.field, refused.value.value) == (pointer, key)
    assert refused.value.status == 422
    assert stored(repo) == (0, 0)


def test_the_same_key_in_different_objects_is_no_duplicate(repo: Database, path: str) -> None:
    data = document_text('{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}')
    assert captured(repo, data).captured == 1


def test_malformed_json_is_still_reported_as_malformed(repo: Database, path: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        captured(repo, b'{"@context": [1, ')
    assert "not well-formed JSON" in str(refused.value)


# --- the JSON text checker itself -------------------------------------------------------------


def test_load_reads_checked_json_and_refuses_what_capture_refuses() -> None:
    assert json_text.load(b'{"a": [1, {"b": "\\u00e9"}]}') == {"a": [1, {"b": "\u00e9"}]}
    with pytest.raises(InvalidInput):
        json_text.load(b'{"a": 1, "a": 2}')
    with pytest.raises(TooLarge):
        json_text.load(arrays(LIMIT + 1).encode())
    assert json_text.load(arrays(LIMIT).encode()) is not None


CHUNKED = [
    (b'["\\ud800"]', 2),
    (b'["a", "\\udc00"]', 7),
    (b'["\\ud83d\\ud83d\\ude00"]', 2),
    (b'["ab\xc3"]', 4),  # a two-byte character cut short
    (b'["\xe2\x82"]', 2),
]
WELL = [
    b'["\\ud83d\\ude00"]',
    b'["\\\\ud800"]',
    b'["\xc3\xa9\xe2\x82\xac"]',
    b'["\\\\\\ud83d\\ude00"]',
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 11, 13, 1 << 16])
def test_checking_in_chunks_finds_what_one_pass_finds(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Escapes and characters cut by a chunk boundary are judged whole."""
    monkeypatch.setattr(json_text, "CHUNK", chunk)
    for data, offset in CHUNKED:
        with pytest.raises(InvalidInput) as refused:
            json_text.check(io.BytesIO(data))
        assert refused.value.value.startswith(f"byte {offset} "), data
    for data in WELL:
        json_text.check(io.BytesIO(data))
