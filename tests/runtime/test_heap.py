"""``mics.runtime.heap``: long-lived objects stay frozen, whatever large captures thaw."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator

import orjson
import pytest

from mics.runtime import heap
from mics.trace import documents


@pytest.fixture
def baseline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A baseline frozen for this test only: the test process stays collectable."""
    monkeypatch.setattr(heap, "_baseline", False)
    yield
    gc.unfreeze()


def test_the_baseline_is_frozen_once(baseline: None) -> None:
    heap.freeze_baseline()
    frozen = gc.get_freeze_count()
    assert frozen > 1000
    assert heap.baseline_frozen()
    kept = [object() for _ in range(100)]  # noqa: F841 - alive, but made after the baseline
    heap.freeze_baseline()
    assert gc.get_freeze_count() == frozen


def test_a_large_capture_thaws_its_document_but_not_the_baseline(baseline: None) -> None:
    heap.freeze_baseline()
    data = b'{"eventList": [' + b",".join([b'{"a": [1, 2]}'] * 2000) + b"]}"
    with heap.parsed_frozen(data, orjson.loads) as document:
        assert document is not None
        assert len(document["eventList"]) == 2000
        during = gc.get_freeze_count()
        assert during > 2000 * 2  # the document is frozen too (an object and a list each)
        del document
    # the baseline frozen again, the document (freed meanwhile) no longer in it
    assert 1000 < gc.get_freeze_count() <= during - 2000 * 2


def test_without_a_baseline_a_thaw_unfreezes_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_baseline", False)
    with heap.parsed_frozen(b'{"eventList": [{"a": 1}]}', orjson.loads) as document:
        assert document is not None
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize(
    "data",
    [
        b'{"eventList": [{"a": [1, 2.5, -0.0, 1e300]}, {"b": null, "c": "\\u00e9"}]}',
        b'[1, "x", {"y": [true, false]}]',
        b'"text"',
        b'{"epcisBody": {"eventList": []}, "type": "EPCISDocument"}',
    ],
)
def test_the_frozen_reader_reads_what_the_plain_reader_reads(data: bytes) -> None:
    with heap.parsed_frozen(data, orjson.loads) as document:
        frozen = document
        assert frozen == json.loads(data)
        assert frozen == orjson.loads(data)
    assert gc.get_freeze_count() == 0


def test_a_parse_that_fails_leaves_the_collector_on_and_nothing_frozen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "_baseline", False)
    assert gc.isenabled()

    def broken(data: bytes) -> object:
        assert not gc.isenabled()  # paused while parsing
        raise MemoryError("the parser ran out")

    with pytest.raises(MemoryError), heap.parsed_frozen(b"{}", broken):
        pass
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_an_error_while_the_document_is_open_thaws_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_baseline", False)

    def fails_with_it_open() -> None:
        with heap.parsed_frozen(b'{"eventList": [{"a": 1}]}', orjson.loads):
            assert gc.get_freeze_count() > 0
            raise KeyError("fails mid-capture")

    with pytest.raises(KeyError):
        fails_with_it_open()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_a_document_that_fails_after_its_parse_is_thawed(monkeypatch: pytest.MonkeyPatch) -> None:
    """``trace.documents`` works on the parsed document before the capture's block: an
    error there still thaws it."""
    monkeypatch.setattr(heap, "_baseline", False)

    def fails(document: object) -> None:
        assert gc.get_freeze_count() > 0
        raise RuntimeError("a bug between the parse and the capture")

    monkeypatch.setattr(documents, "_split", fails)
    data = b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"a": 1}]}}'
    with pytest.raises(RuntimeError), documents.opened(io.BytesIO(data), "json"):
        pass
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
