"""Reading JSON documents whole (orjson) gives what the streaming path (ijson) gives."""

from __future__ import annotations

import gc
import io
import json
import math
from typing import Any

import pytest
from tests.support import epcis_document

from mics.errors import InvalidInput
from mics.trace import documents, json_text

EVENT = {
    "type": "ObjectEvent",
    "eventTime": "2026-01-01T10:00:00.000+01:00",
    "eventTimeZoneOffset": "+01:00",
    "action": "OBSERVE",
    "epcList": ["https://id.gs1.org/01/08012345000017/21/1"],
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:8012345.000001.L1", "quantity": 2.5}],
}


doc = epcis_document


def query_doc(events: Any, name: Any = "SimpleEventQuery") -> dict[str, Any]:
    results = {"queryName": name, "resultsBody": {"eventList": events}}
    return doc([]) | {"type": "EPCISQueryDocument", "epcisBody": {"queryResults": results}}


def streamed(data: bytes) -> Any:
    """Header fields, event-list flag and events as the ijson path reads them, or the error."""
    stream = io.BytesIO(data)
    try:
        json_text.check(stream)  # as documents.opened does first, on both paths
        header = documents.read_header(stream, "json")
        events = list(documents.iter_events(stream, header))
    except InvalidInput as error:
        return type(error), str(error)
    return header.fields, header.has_event_list, events


def whole(data: bytes) -> Any:
    try:
        with documents.opened(io.BytesIO(data), "json") as (header, events):
            return header.fields, header.has_event_list, list(events)
    except InvalidInput as error:
        return type(error), str(error)


def held_whole(data: bytes) -> bool:
    """Whether ``data`` takes the one-pass path."""
    return documents._read_whole(io.BytesIO(data)) is not None


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


SAME = [
    encoded(doc([EVENT, EVENT | {"eventID": "urn:uuid:1234567890123456789012345"}])),
    encoded(doc([])),
    encoded(doc([1, "x", None, [EVENT]])),
    encoded(doc({"a": 1})),
    encoded(doc("none")),
    encoded(doc([EVENT]) | {"epcisBody": "x"}),
    encoded(doc([EVENT]) | {"epcisBody": {}}),
    encoded(doc([EVENT]) | {"_queryName": "mine"}),
    encoded(query_doc([EVENT])),
    encoded(query_doc([EVENT], name=None)),
    encoded(query_doc([EVENT], name=7)),
    encoded(query_doc([EVENT])).replace(
        b'"type": "EPCISQueryDocument"', b'"type": "EPCISDocument"'
    ),
    json.dumps(doc([EVENT]), indent=2).encode(),
    encoded(doc([EVENT | {"quantityList": [{"epcClass": "x:y", "quantity": 1e300}]}])),
    encoded(doc([EVENT | {"example:n": -0.0, "example:s": "\u00e9\U0001f600\u2028"}])),
]
# What ijson and orjson read differently: the one-pass path must leave them to ijson.
STREAMED = [
    b'{"@context": [1, ',  # malformed
    b"[1, 2]",  # not an object
    b'"text"',
    encoded(doc([EVENT | {"example:n": 2**63}])),  # yajl: integer overflow
    encoded(doc([EVENT | {"example:n": [1, -(2**70)]}])),
    b'{"epcisBody": {"eventList": [1]}, "type": 1, "x": 12345678901234567890123\n}',
    encoded(doc([EVENT])).replace(b'"eventList"', b'"eventList": [{"a": 1}], "eventList"'),
    encoded(doc([EVENT])).replace(b'"epcisBody"', b'"epcisBody": {}, "epcisBody"'),
    encoded(doc([EVENT]) | {"epcisBody": {"eventList": [EVENT], "eventList.item": EVENT}}),
    encoded(doc([EVENT | {"example:s": "\ud800"}])),  # a lone surrogate escape
    b'\xef\xbb\xbf{"a": 1}',
    # a key spelt with an escape repeats one the byte count looks for (review)
    encoded(doc([EVENT])).replace(b'"eventList"', b'"eventList": [], "event\\u004cist"'),
    # a top-level dotted key that ijson reads as the event list (review)
    encoded(doc([EVENT]) | {"epcisBody.eventList": [EVENT]}),
]


@pytest.mark.parametrize("data", SAME)
def test_documents_held_whole_read_as_streamed(data: bytes) -> None:
    assert held_whole(data)
    assert whole(data) == streamed(data)


@pytest.mark.parametrize("data", STREAMED)
def test_documents_orjson_reads_otherwise_take_the_streaming_path(data: bytes) -> None:
    assert not held_whole(data)
    assert whole(data) == streamed(data)


def test_long_digit_runs_inside_strings_keep_the_one_pass_path() -> None:
    event = EVENT | {"eventID": "urn:uuid:12345678901234567890123456789012", "example:n": 10**17}
    assert held_whole(encoded(doc([event])))


def test_documents_above_the_threshold_are_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encoded(doc([EVENT]))
    monkeypatch.setattr(documents, "WHOLE_JSON_BYTES", len(data) - 1)
    assert not held_whole(data)
    monkeypatch.setattr(documents, "WHOLE_JSON_BYTES", len(data))
    assert held_whole(data)


def test_whole_documents_are_frozen_only_while_open() -> None:
    assert gc.get_freeze_count() == 0
    with documents.opened(io.BytesIO(encoded(doc([EVENT]))), "json") as (_, events):
        assert gc.get_freeze_count() > 0
        assert next(events) == EVENT
    assert gc.get_freeze_count() == 0
    with (
        pytest.raises(KeyError),
        documents.opened(io.BytesIO(encoded(doc([EVENT]))), "json"),
    ):
        raise KeyError("fails mid-capture")
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_events_are_released_as_they_are_handed_out() -> None:
    with documents.opened(io.BytesIO(encoded(doc([EVENT, EVENT, EVENT]))), "json") as (_, it):
        first = next(it)
        frame = it.gi_frame  # type: ignore[attr-defined]
        assert len(frame.f_locals["events"]) == 2
        assert first == EVENT


@pytest.mark.parametrize(
    "event",
    [
        EVENT,
        EVENT | {"example:f": [1e-7, 1e16, 0.1, 5e-324, -0.0, 2**63, 10**30]},
        EVENT | {"example:s": '\u00e9\x7f\x1f"\\/\u2028\U0001f600'},
        EVENT | {"example:nan": math.nan, "example:inf": [math.inf]},
        EVENT | {"example:none": None},
        EVENT | {"example:int-keys": {1: "a"}},
        EVENT | {"example:surrogate": "\ud800"},
    ],
)
def test_stored_event_text_reads_back_as_json_dumps_text(event: dict[str, Any]) -> None:
    text = documents.dumps(event)
    old = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    assert _same(json.loads(text), json.loads(old))
    if "NaN" in old or "null" in old or "Infinity" in old:
        assert text == old


def _same(a: Any, b: Any) -> bool:
    """Equal, counting NaN equal to NaN and telling ints from floats."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_concurrent_captures_leave_the_collector_as_they_found_it() -> None:
    from concurrent.futures import ThreadPoolExecutor

    data = encoded(doc([EVENT] * 200))

    def read(number: int) -> tuple[int, int]:
        with documents.opened(io.BytesIO(data), "json") as (_, events):
            return number, sum(1 for _ in events)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(read, range(40))) == [(n, 200) for n in range(40)]
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_overlapping_captures_freeze_once_so_garbage_between_them_stays_collectable() -> None:
    data = encoded(doc([EVENT] * 50))
    with documents.opened(io.BytesIO(data), "json") as (_, first):
        frozen = gc.get_freeze_count()
        garbage = [[n] for n in range(20_000)]  # made while the first capture runs
        with documents.opened(io.BytesIO(data), "json") as (_, second):
            assert gc.get_freeze_count() == frozen  # not frozen with the second document
            assert sum(1 for _ in second) == 50
        del garbage
        assert sum(1 for _ in first) == 50
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    ("text", "line", "column", "reason"),
    [
        (
            b'{"type": "EPCISDocument",\n "epcisBody": {"eventList": [{"a": 1,, }]}}',
            2,
            38,  # the second comma
            "Expecting property name enclosed in double quotes",
        ),
        (b'{"a": [1, 2', 1, 12, "Expecting ',' delimiter"),
    ],
)
def test_a_malformed_document_is_named_by_line_and_column_not_by_parser_internals(
    text: bytes, line: int, column: int, reason: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        json_text.check(io.BytesIO(text))
    message = str(refused.value)
    assert f"at line {line}, column {column}: {reason}" in message
    assert "right here" not in message  # the streaming parser's snippet and arrow
    assert refused.value.context["line"] == line
    assert refused.value.context["column"] == column
