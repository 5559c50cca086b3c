"""The process's long-lived objects, set aside from the cyclic garbage collector's full passes.

A server process keeps its modules, its app, routes and tables for its whole life
(~230,000 objects for ``mics serve``), yet every full collection walks them all:
183 ms with the event loop and every request waiting, measured under
bench/scan.py. ``freeze_baseline`` (called once the server has started) moves
them to the permanent generation, which collections skip; objects made later
are collected as usual, and frozen ones are still freed by their reference
counts.

A large document read whole is kept out of the collector's way as well
(``parsed_frozen``, used by ``trace.documents``): parsed with collection paused,
frozen while the caller works through it, thawed when its ``with`` block ends,
however it ends. ``thaw`` gives back what was frozen without giving up the
baseline (Python can only unfreeze everything: the live objects are frozen again
at once).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["FrozenDocument", "baseline_frozen", "freeze_baseline", "parsed_frozen", "thaw"]

Parsed = TypeVar("Parsed")

_lock = threading.Lock()
_baseline = False


def freeze_baseline() -> None:
    """Collect once, then freeze everything alive now; later calls do nothing."""
    global _baseline
    with _lock:
        if _baseline:
            return
        _baseline = True
        gc.collect()
        gc.freeze()


def baseline_frozen() -> bool:
    return _baseline


def thaw() -> None:
    """Unfreeze what was frozen since; the baseline (when set) stays frozen.

    No collection first: on a server thread it would stop the event loop too.
    """
    with _lock:
        gc.unfreeze()
        if _baseline:
            gc.freeze()


def parsed_frozen(data: bytes, loads: Callable[[bytes], Parsed]) -> FrozenDocument[Parsed]:
    """``with parsed_frozen(data, loads) as document:`` (``FrozenDocument``)."""
    return FrozenDocument(data, loads)


class FrozenDocument(Generic[Parsed]):
    """``loads(data)`` parsed with the cyclic collector paused, frozen for the ``with`` block.

    The result is the plain ``loads(data)`` (tests/runtime/test_heap.py compares them);
    only the collector's view differs. Whatever ``loads`` raises, or the block, the
    collector is on again (if it was) and the document thawed when the block is left.
    ``data`` is let go once parsed (the caller should not keep it either: a 14 MiB
    document is 14 MiB of bytes for the whole capture). Measured (20,000 events, load
    2.3-3): 6,542-6,670 events/s captured without, 7,133-7,496 with.
    """

    def __init__(self, data: bytes, loads: Callable[[bytes], Parsed]) -> None:
        self._data: bytes | None = data
        self._loads = loads
        self._open = False

    def __enter__(self) -> Parsed:
        data, self._data = self._data, None
        if data is None:
            raise RuntimeError("a FrozenDocument is entered once")
        document = _DOCUMENTS.parse(data, self._loads)  # raises with nothing frozen
        self._open = True
        return document

    def __exit__(self, *exc_info: object) -> None:
        if self._open:
            self._open = False
            _DOCUMENTS.thaw()


class _Documents:
    """The documents held frozen now, counted under a lock (captures run on threads).

    ``gc.freeze`` moves every tracked object to the permanent generation, which
    collections skip; objects made later are still collected, and frozen ones are still
    freed by their reference counts (each event as capture is done with it). The last
    document to close thaws them.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parsing = 0  # parses under way, with collection paused
        self.enabled = True  # whether collection was on when the first of them began
        self.frozen = 0  # documents held frozen

    def parse(self, data: bytes, loads: Callable[[bytes], Parsed]) -> Parsed:
        with self.lock:
            if not self.parsing:
                self.enabled = gc.isenabled()
                gc.disable()  # no collections of a growing young generation meanwhile
            self.parsing += 1
        try:
            document = loads(data)
        finally:
            with self.lock:
                self.parsing -= 1
                if not self.parsing and self.enabled:
                    gc.enable()
        with self.lock:
            # Freeze once per run of overlapping documents: each freeze also moves every
            # other object of the process, garbage included, out of the collector's
            # reach until the last thaw, and captures that keep overlapping would
            # otherwise keep freezing the garbage made between them (review: RSS
            # 59 -> 380 MiB over 8 overlapping rounds). Later documents of the run
            # stay collectable: slower for them, bounded for the process.
            if not self.frozen:
                gc.freeze()
            self.frozen += 1
        return document

    def thaw(self) -> None:
        with self.lock:
            self.frozen -= 1
            if not self.frozen:
                thaw()  # keeps a server's baseline frozen


_DOCUMENTS = _Documents()
