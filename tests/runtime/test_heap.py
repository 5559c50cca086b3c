"""``mics.runtime.heap``: long-lived objects stay frozen, whatever large captures thaw."""

from __future__ import annotations

import gc
from collections.abc import Iterator

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
    parser = documents._Heap()
    document = parser.parse(b'{"eventList": [' + b",".join([b'{"a": [1, 2]}'] * 2000) + b"]}")
    assert document is not None
    assert len(document["eventList"]) == 2000
    during = gc.get_freeze_count()
    assert during > 2000 * 2  # the document is frozen too (an object and a list each)
    del document
    parser.thaw()
    # the baseline frozen again, the document (freed meanwhile) no longer in it
    assert 1000 < gc.get_freeze_count() <= during - 2000 * 2


def test_without_a_baseline_a_thaw_unfreezes_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_baseline", False)
    parser = documents._Heap()
    assert parser.parse(b'{"eventList": [{"a": 1}]}') is not None
    assert gc.get_freeze_count() > 0
    parser.thaw()
    assert gc.get_freeze_count() == 0
