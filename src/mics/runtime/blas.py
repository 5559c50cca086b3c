"""BLAS kept to one thread for vector-sized work (``threadpoolctl``).

OpenBLAS splits a dot product or a norm of a few thousand numbers over every
core; when those cores are busy with other processes, its threads spin waiting
for each other, and the split work takes far longer than one thread would:
``bench/footprint.py`` once took 1,326 ms instead of ~15 ms for 1,000 scores on
the 2-core bench machine under load. The footprint's work is all vector-sized
(sparse LU solves, iterative solves, dot products over the processes), so
``one_thread()`` holds BLAS to one thread for the ``with`` block and gives back
the previous limit after. The limit is the process's: work in other threads
meanwhile runs with one BLAS thread too, which is what a server sharing its
cores wants.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import ThreadpoolController

__all__ = ["one_thread"]

_lock = threading.Lock()
_controller: ThreadpoolController | None = None  # made once: scanning the libraries is ~1 ms


def one_thread() -> AbstractContextManager[Any]:
    """BLAS limited to one thread for the ``with`` block (~60 us to enter and leave)."""
    global _controller
    with _lock:
        if _controller is None:
            _controller = ThreadpoolController()
        controller = _controller
    limited: AbstractContextManager[Any] = controller.limit(limits=1, user_api="blas")
    return limited
