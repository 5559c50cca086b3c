"""The process's long-lived objects, set aside from the cyclic garbage collector's full passes.

A server process keeps its modules, its app, routes and tables for its whole life
(~230,000 objects for ``mics serve``), yet every full collection walks them all:
183 ms with the event loop and every request waiting, measured under
bench/scan.py. ``freeze_baseline`` (called once the server has started) moves
them to the permanent generation, which collections skip; objects made later
are collected as usual, and frozen ones are still freed by their reference
counts.

Large captures freeze their parsed document too (``trace.documents``) and thaw
it afterwards; ``thaw`` gives back what they froze without giving up the
baseline (Python can only unfreeze everything: the live objects are frozen
again at once).
"""

from __future__ import annotations

import gc
import threading

__all__ = ["baseline_frozen", "freeze_baseline", "thaw"]

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
