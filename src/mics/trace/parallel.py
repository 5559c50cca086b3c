"""Worker processes that prepare the batches of a large capture on the machine's other cores.

Validating and hashing events (``mics.trace.prepare``) is pure Python, so threads
alone would only take turns at the GIL; SQLite takes one writer at a time, so the
inserts stay in the capturing process. A capture of more than one batch therefore
hands its batches to worker processes and writes each prepared batch, in document
order, while the workers prepare the next ones. A capture of one batch (every
tag-scan verdict, most API calls) never leaves the capturing process.

``MICS_CAPTURE_WORKERS`` sets how many workers: by default one less than the CPUs
this process may run on, at most ``MAX_DEFAULT``; ``0`` prepares every batch in the
capturing process.

Each worker is ``python -m mics.trace.parallel``, started at the first capture that
needs it and kept for the life of the process, fed by a thread of its own here
(the thread waits on the pipes without the GIL). Not ``multiprocessing``: its
``spawn`` and ``forkserver`` methods run the parent's main script again in every
worker (a library user's script without an ``if __name__ == "__main__"`` guard would
capture twice or fail), and its ``fork`` copies a process that holds database
connections and threads. A worker reads only its stdin and never opens the database;
when the capturing process dies, even by SIGKILL, the worker reads end-of-file and
exits. When a worker dies, the capture fails with ``Unavailable`` (503, nothing
stored) and the next task starts a new worker.

Measured with ``python bench/capture.py``: src/mics/trace/BENCH.md, round 5.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, TypeVar

from mics.errors import Unavailable
from mics.trace.prepare import prepare

__all__ = ["MAX_DEFAULT", "WORKERS_ENV", "in_order", "shutdown", "worker_count"]

WORKERS_ENV = "MICS_CAPTURE_WORKERS"
MAX_DEFAULT = 3  # past ~3 workers the single writer, not preparation, sets the pace
AHEAD = 2  # batches handed out per worker beyond the one being written
_COLLECT = 50
_FRAME = struct.Struct("!Q")  # each message: its length, then a pickle

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: _Pool | None = None


def worker_count() -> int:
    """Worker processes a capture may use: ``MICS_CAPTURE_WORKERS`` or the default."""
    raw = os.environ.get(WORKERS_ENV)
    if raw is None or not raw.strip():
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return 0 if (cpus or 1) < 2 else min(cpus or 1, MAX_DEFAULT)
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


def in_order(function: Callable[..., R], items: Iterable[T], *args: Any) -> Iterator[tuple[T, R]]:
    """``(item, function(item, *args))`` for each item, in order, computed ahead in workers.

    ``function`` is ``prepare`` for the workers (the only function they run); any
    other function, a single item, or no workers: everything runs here. The first
    item is computed here while the workers start on the next ones (a worker's first
    task also waits for it to start, ~0.3 s). Items are taken from ``items`` only as
    far ahead as the workers can use; closing the iterator early cancels what was not
    started (a started task finishes and is dropped).
    """
    iterator = iter(items)
    head = list(islice(iterator, 2))
    pool = _get_pool() if len(head) == 2 and function is prepare else None
    if pool is None:
        for item in chain(head, iterator):
            yield item, function(item, *args)
        return
    rest = chain(head[1:], iterator)
    pending: deque[tuple[T, Future[Any]]] = deque()
    try:
        for item in islice(rest, pool.size * AHEAD):
            pending.append((item, pool.submit((item, *args))))
        yield head[0], function(head[0], *args)
        for item in rest:
            pending.append((item, pool.submit((item, *args))))
            done, future = pending.popleft()
            yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _item, future in pending:
            future.cancel()


def _get_pool() -> _Pool | None:
    global _pool
    count = worker_count()
    if count == 0:
        return None
    with _lock:
        old = _pool if _pool is not None and _pool.size != count else None
        if _pool is None or old is not None:
            _pool = _Pool(count)
        pool = _pool
    if old is not None:
        old.close()
    return pool


class _Pool:
    """``size`` feeding threads, each lending itself an idle worker process for a task."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="capture-worker")
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.workers: set[_Worker] = set()  # at most one per thread
        self.lock = threading.Lock()

    def submit(self, args: tuple[Any, ...]) -> Future[Any]:
        return self.threads.submit(self._run, args)

    def _run(self, args: tuple[Any, ...]) -> Any:
        """On a feeding thread: have a worker process run ``prepare(*args)``."""
        worker = self._lend()
        try:
            ok, value = worker.call(args)
        except BaseException:  # its pipes may hold half a message now: never reuse it
            self._drop(worker)
            raise
        self.idle.put(worker)
        if not ok:
            raise value  # prepare's own error, raised in the worker
        return value

    def _lend(self) -> _Worker:
        while True:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                worker = _Worker()
                with self.lock:
                    self.workers.add(worker)
                return worker
            if worker.process.poll() is None:
                return worker
            self._drop(worker)  # died while idle

    def _drop(self, worker: _Worker) -> None:
        with self.lock:
            self.workers.discard(worker)
        worker.stop()

    def close(self) -> None:
        """Finish the tasks handed out, then end every worker."""
        self.threads.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            workers, self.workers = self.workers, set()
        for worker in workers:
            worker.close()


class _Worker:
    """One ``python -m mics.trace.parallel`` process and its two pipes."""

    def __init__(self) -> None:
        env = dict(os.environ)
        source = str(Path(__file__).resolve().parents[2])  # the folder that holds mics/
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mics.trace.parallel"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def call(self, args: tuple[Any, ...]) -> tuple[bool, Any]:
        """``(True, result)`` or ``(False, the exception prepare raised)``."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            _send(self.process.stdin, pickle.dumps(args, pickle.HIGHEST_PROTOCOL))
            answer: tuple[bool, Any] = pickle.loads(_receive(self.process.stdout))
        except (OSError, EOFError, pickle.UnpicklingError) as error:
            code = self.process.poll()
            raise Unavailable(
                f"a capture worker process stopped ({error!r}, exit code {code}); "
                "nothing of this capture was stored, send it again",
                field=WORKERS_ENV,
            ) from error
        return answer

    def stop(self) -> None:
        """Kill the process (it may be half way through a message) and reap it."""
        self.process.kill()
        self.close()

    def close(self) -> None:
        """End of input: the worker exits; killed if it has not within a second."""
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # unsent bytes to a worker already gone
                    pipe.close()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _send(pipe: IO[bytes], payload: bytes) -> None:
    pipe.write(_FRAME.pack(len(payload)))
    pipe.write(payload)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    head = pipe.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError("the worker closed its output")
    (length,) = _FRAME.unpack(head)
    payload = pipe.read(length)
    if len(payload) < length:
        raise EOFError("the worker's answer was cut short")
    return payload


def shutdown() -> None:
    """Stop the feeding threads and the worker processes (``atexit`` does it too)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close()


atexit.register(shutdown)


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """A worker's loop: read ``prepare`` arguments, answer ``(ok, result or error)``.

    The cyclic garbage collector is off between full collections every ``_COLLECT``
    tasks: a batch is ~60,000 containers that die by reference counting when the
    task ends, and the collections their allocation set off cost ~10% of a task.
    """
    gc.freeze()  # the modules imported so far are never garbage
    gc.disable()
    tasks = 0
    while True:
        tasks += 1
        if tasks % _COLLECT == 0:
            gc.collect()
        try:
            args = pickle.loads(_receive(source))
        except EOFError:
            return  # the capturing process closed the pipe or died
        try:
            answer: tuple[bool, Any] = (True, prepare(*args))
        except Exception as error:  # sent back and raised in the capturing process
            answer = (False, error)
        try:
            payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception:  # an error that cannot be pickled: its text
            payload = pickle.dumps((False, RuntimeError(repr(answer[1]))))
        try:
            _send(sink, payload)
        except BrokenPipeError:
            return


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
