"""Warm worker processes for pure, CPU-bound work that would only take turns at the GIL.

The process's one pool of worker processes (``in_order``): a caller hands it a
module-level function and a stream of items, and gets ``(item, function(item,
*args))`` back in order while the workers compute the next ones. Capture is its
user today: ``mics.trace.capture`` has the batches of a large document validated
and hashed (``mics.trace.prepare``) here while it writes each one, in document
order, in the capturing process (SQLite takes one writer at a time).

``MICS_CAPTURE_WORKERS`` sets how many workers: by default as many as the CPUs
this process may run on, at most ``MAX_DEFAULT``, none on one CPU or in a frozen
application; ``0`` keeps all work in the calling process. By default the pool is
used only where it wins (``worth_it``, measured with ``bench/capture_workers.py``):
for ``BUSY_ITEMS`` items or more, and for at least ``MIN_ITEMS`` while the machine
has a CPU to spare (the load average of the last minute, less this process's own
share of it, at most ``cpus - 1``: on a machine kept busy by other processes,
workers made a 5,000-event capture slower in 4 of 6 runs). A count set in
``MICS_CAPTURE_WORKERS`` is used for any call of two items or more, whatever the load.

Each worker is a ``python`` running ``mics.runtime.worker_process._main`` (the
parent's interpreter flags, no current directory on its path) that imports the modules
it will run before it greets (``warm``), and is kept for the life of the process, fed
by a thread of its own here (the thread waits on the pipes without the GIL). The
server starts its workers when it starts (``warm`` in its lifespan, on a thread: the
first request does not wait) and the CLI when a command reads a large document;
otherwise the first call that needs them starts them. Not ``multiprocessing``: its
``spawn`` and ``forkserver`` methods run the parent's main script again in every
worker (a library user's script without an ``if __name__ == "__main__"`` guard would
capture twice or fail), and its ``fork`` copies a process that holds database
connections and threads. Under ``uvicorn --workers N`` each server process keeps a
pool of its own.

What can go wrong, and what happens then:

- a worker never opens the database and ignores SIGINT and SIGTERM (a Ctrl-C or a
  service manager's signal to the process group must not cut work the server is
  still finishing); it exits at end of input: when the calling process closes its
  pipe or dies, even by SIGKILL;
- a worker that cannot start (no usable interpreter, a different ``mics`` on its
  path, an answer that is not ours) is reported once in the log; the pool is then
  turned off and all work is done in the calling process;
- a task that cannot be pickled, or an answer that cannot be unpickled, is
  computed again in the calling process (same result, the worker kept);
- a worker that dies during a task is replaced and the task given once to the new
  worker (the functions run here have no side effects); if that one dies too, the
  call fails with ``Unavailable`` (503): for a capture, nothing of it is stored;
- a change of ``MICS_CAPTURE_WORKERS`` takes effect at the next call; the old
  pool ends when its last call is done.

Measured with ``python bench/capture_workers.py`` and ``python bench/capture.py``:
src/mics/trace/BENCH.md.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, islice
from typing import Any, TypeVar

from mics.errors import Unavailable
from mics.runtime import load
from mics.runtime.load import spare_cpus
from mics.runtime.worker_process import _Died, _NoProcess, _StartFailed, _Worker, serve

__all__ = [
    "BUSY_ITEMS",
    "MAX_DEFAULT",
    "MIN_ITEMS",
    "WORKERS_ENV",
    "in_order",
    "serve",
    "shutdown",
    "spare_cpus",
    "warm",
    "worker_count",
    "worth_it",
]

Item = TypeVar("Item")
Result = TypeVar("Result")

WORKERS_ENV = "MICS_CAPTURE_WORKERS"
MAX_DEFAULT = 3  # past ~3 workers the single writer, not preparation, sets the pace
AHEAD = 2  # batches handed out per worker beyond the one being written
# Where the workers win, measured with bench/capture_workers.py (XML capture batches of 2,000
# events, 2 warm workers against one process, interleaved rounds at load 14-21 on 2 cores):
# 2 batches 0.45-1.29x, 3 batches 0.61-1.37x, 4 batches 0.91-1.24x, 5 batches 0.78-1.98x
# (won at least 4 of 6 rounds).
MIN_ITEMS = 3  # fewer: one process, always (by default)
BUSY_ITEMS = 5  # this many or more: the workers, even when no CPU is spare
_log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: _Pool | None = None
_failed = False  # a worker could not start: prepare in the capturing process from now on
_resting_until = 0.0  # the system refused a new process: none tried before this (monotonic)
_preload: tuple[str, ...] = ()  # modules a worker imports before it greets (``warm``)
REST_S = 60.0


def worker_count() -> int:
    """Worker processes a call may use: ``MICS_CAPTURE_WORKERS`` or the default."""
    raw = os.environ.get(WORKERS_ENV)
    if raw is None or not raw.strip():
        if getattr(sys, "frozen", False) or not sys.executable:
            return 0  # no interpreter to start workers with
        cpus = load.cpus()
        return 0 if cpus < 2 else min(cpus, MAX_DEFAULT)
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 64:
        raise ValueError(
            f"{WORKERS_ENV}={raw!r} is not valid: expected a whole number from 0 to 64 "
            "(0 prepares captures in the capturing process)"
        )
    return count


def worth_it(items: int) -> bool:
    """Whether ``items`` tasks should go to the workers rather than stay in this process.

    Set by hand (``MICS_CAPTURE_WORKERS``), any two items or more go. By default
    ``BUSY_ITEMS`` or more go whatever the load (measured: they won most rounds even
    at load 14-21 on 2 cores, where the workers' share of the CPUs beats one
    process's); ``MIN_ITEMS`` or more only while a CPU is spare (``spare_cpus`` at
    least 1: on a busy machine workers took turns with the writer and lost about
    as often as they won); fewer stay in the calling process.
    """
    if items < 2:
        return False
    raw = os.environ.get(WORKERS_ENV)
    if raw is not None and raw.strip():
        return True
    if items >= BUSY_ITEMS:
        return True
    return items >= MIN_ITEMS and spare_cpus() >= 1.0


def warm(*modules: str, wait: bool = False) -> bool:
    """Start the pool's workers now, on a thread, each importing ``modules`` before it greets.

    For a server at start-up, or a command about to read a large document: the
    workers' start (~0.3 s each on 2 cores) then overlaps other work instead of
    the first call's. True if workers are starting; False if the count is 0 or
    workers are off. Calls that come before they are ready use those that are.
    ``wait``: return once they are ready (benchmarks).
    """
    global _preload
    _preload = tuple(dict.fromkeys((*_preload, *modules)))
    pool = _borrow()
    if pool is None:
        return False

    def start() -> None:
        try:
            futures = [pool.threads.submit(pool.prestart) for _ in range(pool.size)]
            for future in futures:
                future.result()
        except Exception as error:  # logged by _turn_off/_rest where it matters
            _log.debug("warming the worker processes stopped: %s", error)
        finally:
            _give_back(pool)

    starting = threading.Thread(target=start, name="warm-workers", daemon=True)
    starting.start()
    if wait:
        starting.join()
    return True


def in_order(
    function: Callable[..., Result], items: Iterable[Item], *args: Any
) -> Iterator[tuple[Item, Result]]:
    """``(item, function(item, *args))`` for each item, in order, computed ahead in workers.

    ``function`` is a module-level function without side effects (a worker imports it
    by name). With fewer items than ``worth_it`` asks for, no workers, or no CPU to
    spare, everything runs here. When no worker is idle yet (a cold start, ~0.3 s
    each), the first item is computed here while the workers take the next ones.
    Items are taken from ``items`` only as far ahead as the workers can use; closing
    the iterator early cancels what was not started (a started task finishes and is
    dropped).
    """
    iterator = iter(items)
    head = list(islice(iterator, BUSY_ITEMS))
    pool = _borrow(function) if worth_it(len(head)) else None
    load.OWN_LOAD.change(+1)  # this caller, computing or writing, for as long as it runs
    if pool is None:
        try:
            for item in chain(head, iterator):
                yield item, function(item, *args)
        finally:
            load.OWN_LOAD.change(-1)
        return
    pending: deque[tuple[Item, Future[Result]]] = deque()
    try:
        here = head[0] if pool.cold() else None
        rest = chain(head[1:] if here is not None else head, iterator)
        for item in islice(rest, pool.size * AHEAD):
            pending.append((item, pool.submit(function, (item, *args))))
        if here is not None:
            yield here, function(here, *args)
        for item in rest:
            pending.append((item, pool.submit(function, (item, *args))))
            done, future = pending.popleft()
            yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _item, future in pending:
            future.cancel()
        _give_back(pool)
        load.OWN_LOAD.change(-1)


def _borrow(function: Callable[..., Any] | None = None) -> _Pool | None:
    """The pool for the current worker count, counted as in use until ``_give_back``.

    ``function``'s module joins those a worker started from now on imports first.
    """
    global _pool, _preload
    if function is not None and function.__module__ not in _preload:
        _preload = (*_preload, function.__module__)
    count = worker_count()
    if count == 0 or _off():
        return None
    with _lock:
        if _pool is None or _pool.size != count:
            if _pool is not None:
                _pool.retired = True  # closed by its last user
                if not _pool.users:
                    _close_later(_pool)
            _pool = _Pool(count)
        _pool.users += 1
        return _pool


def _give_back(pool: _Pool) -> None:
    with _lock:
        pool.users -= 1
        last = pool.retired and not pool.users
    if last:
        _close_later(pool)


def _close_later(pool: _Pool) -> None:
    """Close ``pool`` on a thread of its own: the caller would wait for its last tasks."""
    threading.Thread(target=pool.close, daemon=True).start()


def _off() -> bool:
    return _failed or time.monotonic() < _resting_until


def _rest(reason: str) -> None:
    """The system refused a process (no memory, too many files): none for ``REST_S``."""
    global _resting_until
    _resting_until = time.monotonic() + REST_S
    _log.warning("capture worker processes are off for %.0f s: %s", REST_S, reason)


def _turn_off(reason: str) -> None:
    """A worker could not start: say why once, and prepare here from now on."""
    global _failed
    with _lock:
        first, _failed = not _failed, True
    if first:
        _log.warning(
            "capture worker processes are off: %s; captures are prepared in one process", reason
        )


class _Pool:
    """``size`` feeding threads, each lending itself an idle worker process for a task."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.users = 0  # in_order calls using the pool now (under _lock)
        self.retired = False  # a pool of another size replaced it
        self.closing = False  # close() has begun: no new worker, no second try
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="pool-worker")
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.workers: set[_Worker] = set()  # at most one per thread
        self.lock = threading.Lock()

    def cold(self) -> bool:
        """No worker is waiting for a task: the next ones must start (or finish) first."""
        return self.idle.qsize() == 0

    def submit(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Future[Any]:
        return self.threads.submit(self._run, function, args)

    def prestart(self) -> None:
        """On a feeding thread: start one worker and leave it idle (``warm``)."""
        if self.closing or _off() or len(self.workers) >= self.size:
            return
        try:
            worker = self._lend()
        except _StartFailed as failure:
            _turn_off(str(failure))
        except _NoProcess as refused:
            _rest(str(refused))
        except _Died:
            return  # the first call starts another
        else:
            self.idle.put(worker)

    def _run(self, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """On a feeding thread: ``function(*args)`` by a worker process, or here."""
        if self.closing:  # what is left of a call that ended: no one reads the answer
            raise Unavailable("the capture workers are shutting down")
        if _off():  # workers could not start: no call waits for another try
            return function(*args)
        try:
            payload = pickle.dumps((function, args), pickle.HIGHEST_PROTOCOL)
        except Exception:  # too deep, or a value pickle refuses: no worker needed
            return function(*args)
        for attempt in (1, 2):
            try:
                worker = self._lend()
            except _StartFailed as failure:
                _turn_off(str(failure))
                return function(*args)
            except _NoProcess as refused:
                _rest(str(refused))
                return function(*args)
            except _Died as died:  # killed while it started (out of memory, say)
                if attempt == 1:
                    continue
                raise Unavailable(
                    f"capture worker processes keep stopping ({died}); "
                    "nothing of this capture was stored, send it again"
                ) from died
            load.OWN_LOAD.change(+1)
            try:
                kind, value = worker.call(payload)
            except BaseException as error:  # its pipes may hold half a message: never reuse
                load.OWN_LOAD.change(-1)
                self._drop(worker)
                if isinstance(error, _Died) and attempt == 1 and not self.closing:
                    continue  # no side effects: once more, on a new worker
                if isinstance(error, _Died):
                    raise Unavailable(
                        f"a capture worker process stopped twice on one batch ({error}); "
                        "nothing of this capture was stored, send it again"
                    ) from error
                raise
            load.OWN_LOAD.change(-1)
            self.idle.put(worker)
            if kind == "ok":
                return value
            if kind == "raised":
                raise value  # the function's own error, raised in the worker
            return function(*args)  # the worker could not read the task, or we its answer
        raise AssertionError("unreachable")

    def _lend(self) -> _Worker:
        while True:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                worker = _Worker(_preload)
                with self.lock:
                    if not self.closing:
                        self.workers.add(worker)
                        return worker
                worker.close()  # close() began meanwhile: it would never end this one
                raise Unavailable("the capture workers are shutting down") from None
            if worker.process.poll() is None:
                return worker
            self._drop(worker)  # died while idle

    def _drop(self, worker: _Worker) -> None:
        with self.lock:
            self.workers.discard(worker)
        worker.stop()

    def close(self) -> None:
        """End every worker (end of input, then kill), then the feeding threads."""
        with self.lock:
            self.closing = True
            workers, self.workers = self.workers, set()
        for worker in workers:
            worker.close()
        self.threads.shutdown(wait=True, cancel_futures=True)


def shutdown() -> None:
    """Stop the worker processes and their feeding threads (``atexit`` does it too).

    A capture still running keeps its workers until it ends (then they stop).
    """
    global _pool
    with _lock:
        pool, _pool = _pool, None
        busy = pool is not None and pool.users > 0
        if busy:
            pool.retired = True  # type: ignore[union-attr]
    if pool is not None and not busy:
        pool.close()


atexit.register(shutdown)
