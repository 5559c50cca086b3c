"""Worker processes that prepare the batches of a large capture on the machine's other cores.

Validating and hashing events (``mics.trace.prepare``) is pure Python, so threads
alone would only take turns at the GIL; SQLite takes one writer at a time, so the
inserts stay in the capturing process. A capture of more than one batch therefore
hands its batches to worker processes and writes each prepared batch, in document
order, while the workers prepare the next ones. A capture of one batch (every
tag-scan verdict, most API calls) never leaves the capturing process.

``MICS_CAPTURE_WORKERS`` sets how many workers: by default as many as the CPUs
this process may run on, at most ``MAX_DEFAULT`` (the workers and the writer share
the CPUs; on 2 cores 2 workers beat 1), none on one CPU or in a frozen
application; ``0`` prepares every batch in the capturing process.

Each worker is a ``python`` running ``serve`` (the parent's interpreter flags, no
current directory on its path), started at the first capture that needs it and
kept for the life of the process, fed by a thread of its own here (the thread
waits on the pipes without the GIL). Not ``multiprocessing``: its ``spawn`` and
``forkserver`` methods run the parent's main script again in every worker (a
library user's script without an ``if __name__ == "__main__"`` guard would capture
twice or fail), and its ``fork`` copies a process that holds database connections
and threads.

What can go wrong, and what happens then:

- a worker never opens the database and ignores SIGINT and SIGTERM (a Ctrl-C or a
  service manager's signal to the process group must not cut captures the server is
  still finishing); it exits at end of input: when the capturing process closes its
  pipe or dies, even by SIGKILL;
- a worker that cannot start (no usable interpreter, a different ``mics`` on its
  path, an answer that is not ours) is reported once in the log; the pool is then
  turned off and batches are prepared in the capturing process;
- a batch that cannot be pickled, or an answer that cannot be unpickled, is
  prepared again in the capturing process (same result, the worker kept);
- a worker that dies during a task is replaced and the task given once to the new
  worker (``prepare`` has no side effects); if that one dies too, the capture fails
  with ``Unavailable`` (503) and nothing of it is stored;
- a change of ``MICS_CAPTURE_WORKERS`` takes effect at the next capture; the old
  pool ends when its last capture is done.

Measured with ``python bench/capture.py``: src/mics/trace/BENCH.md, round 5.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from mics.errors import Unavailable
from mics.trace.prepare import Batch, Outcome, prepare

__all__ = ["MAX_DEFAULT", "WORKERS_ENV", "in_order", "serve", "shutdown", "worker_count"]

WORKERS_ENV = "MICS_CAPTURE_WORKERS"
MAX_DEFAULT = 3  # past ~3 workers the single writer, not preparation, sets the pace
AHEAD = 2  # batches handed out per worker beyond the one being written
START_TIMEOUT_S = 30.0  # for a worker to import mics and say hello (~0.3 s on 2 cores)
_HELLO = b"MICS capture worker 1\n"  # a worker's first bytes on its protocol pipe
_MAX_FRAME = 1 << 31  # no answer is near 2 GiB: a longer length is not our frame
_COLLECT = 50  # tasks between a worker's full garbage collections
_FRAME = struct.Struct("!Q")  # each message: its length, then a pickle
_SOURCE = str(Path(__file__).resolve().parents[2])  # the folder that holds mics/
_log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: _Pool | None = None
_failed = False  # a worker could not start: prepare in the capturing process from now on
_resting_until = 0.0  # the system refused a new process: none tried before this (monotonic)
REST_S = 60.0


def worker_count() -> int:
    """Worker processes a capture may use: ``MICS_CAPTURE_WORKERS`` or the default."""
    raw = os.environ.get(WORKERS_ENV)
    if raw is None or not raw.strip():
        if getattr(sys, "frozen", False) or not sys.executable:
            return 0  # no interpreter to start workers with
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cpus = cpus or os.cpu_count() or 1
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


def in_order(batches: Iterable[Batch], *args: Any) -> Iterator[tuple[Batch, Outcome]]:
    """``(batch, prepare(batch, *args))`` for each batch, in order, prepared ahead in workers.

    With a single batch, or no workers, everything runs here. When no
    worker is idle yet (the first capture starts them, ~0.3 s each), the first item
    is computed here while the workers take the next ones. Items are taken from
    ``batches`` only as far ahead as the workers can use; closing the iterator early
    cancels what was not started (a started task finishes and is dropped).
    """
    iterator = iter(batches)
    head = list(islice(iterator, 2))
    pool = _borrow() if len(head) == 2 else None
    if pool is None:
        for batch in chain(head, iterator):
            yield batch, prepare(batch, *args)
        return
    pending: deque[tuple[Batch, Future[Outcome]]] = deque()
    try:
        here = head[0] if pool.cold() else None
        rest = chain(head[1:] if here is not None else head, iterator)
        for item in islice(rest, pool.size * AHEAD):
            pending.append((item, pool.submit((item, *args))))
        if here is not None:
            yield here, prepare(here, *args)
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
        _give_back(pool)


def _borrow() -> _Pool | None:
    """The pool for the current worker count, counted as in use until ``_give_back``."""
    global _pool
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
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="capture-worker")
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.workers: set[_Worker] = set()  # at most one per thread
        self.lock = threading.Lock()

    def cold(self) -> bool:
        """No worker is waiting for a task: the next ones must start (or finish) first."""
        return self.idle.qsize() == 0

    def submit(self, args: tuple[Any, ...]) -> Future[Any]:
        return self.threads.submit(self._run, args)

    def _run(self, args: tuple[Any, ...]) -> Any:
        """On a feeding thread: ``prepare(*args)`` by a worker process, or here."""
        if self.closing:  # what is left of a capture that ended: no one reads the answer
            raise Unavailable("the capture workers are shutting down")
        if _off():  # workers could not start: no capture waits for another try
            return prepare(*args)
        try:
            payload = pickle.dumps(args, pickle.HIGHEST_PROTOCOL)
        except Exception:  # too deep, or a value pickle refuses: no worker needed
            return prepare(*args)
        for attempt in (1, 2):
            try:
                worker = self._lend()
            except _StartFailed as failure:
                _turn_off(str(failure))
                return prepare(*args)
            except _NoProcess as refused:
                _rest(str(refused))
                return prepare(*args)
            except _Died as died:  # killed while it started (out of memory, say)
                if attempt == 1:
                    continue
                raise Unavailable(
                    f"capture worker processes keep stopping ({died}); "
                    "nothing of this capture was stored, send it again"
                ) from died
            try:
                kind, value = worker.call(payload)
            except BaseException as error:  # its pipes may hold half a message: never reuse
                self._drop(worker)
                if isinstance(error, _Died) and attempt == 1 and not self.closing:
                    continue  # prepare has no side effects: once more, on a new worker
                if isinstance(error, _Died):
                    raise Unavailable(
                        f"a capture worker process stopped twice on one batch ({error}); "
                        "nothing of this capture was stored, send it again"
                    ) from error
                raise
            self.idle.put(worker)
            if kind == "ok":
                return value
            if kind == "raised":
                raise value  # prepare's own error, raised in the worker
            return prepare(*args)  # the worker could not read the task, or we its answer
        raise AssertionError("unreachable")

    def _lend(self) -> _Worker:
        while True:
            try:
                worker = self.idle.get_nowait()
            except queue.Empty:
                worker = _Worker()
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


class _StartFailed(Exception):
    """A worker process did not start or did not greet as a worker."""


class _NoProcess(Exception):
    """The system would not start a process now (out of memory, too many open files)."""


class _Died(Exception):
    """A worker process ended, or broke the protocol, in the middle of a task."""


class _Worker:
    """One worker process and its two pipes, greeted before its first task."""

    def __init__(self) -> None:
        command = [
            sys.executable,
            *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]
            "-P",  # no current directory on the path: a local ipaddress.py stays unseen
            "-c",
            "from mics.trace.parallel import _main; _main()",
            _SOURCE,
        ]
        # Its own process group: a Ctrl-C at the terminal or a signal to the server's
        # group reaches the server, which then ends its workers itself.
        group = {"process_group": 0} if os.name == "posix" else {}
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_environment(),
                **group,  # type: ignore[call-overload]
            )
        except (FileNotFoundError, PermissionError) as error:
            raise _StartFailed(f"{sys.executable!r} could not be started ({error})") from error
        except OSError as error:  # EAGAIN, ENOMEM, EMFILE: try again later
            raise _NoProcess(f"{sys.executable!r} could not be started ({error})") from error
        self._greeted()

    def _greeted(self) -> None:
        """Wait for the hello; kill the process if it has not come in ``START_TIMEOUT_S``.

        No hello: ``_StartFailed`` (no worker will do better), unless a signal from
        elsewhere killed the process while it started: ``_Died``, worth another try.
        """
        assert self.process.stdout is not None
        late = threading.Event()

        def give_up() -> None:
            late.set()
            self.process.kill()

        timer = threading.Timer(START_TIMEOUT_S, give_up)
        timer.start()
        try:
            seen = self.process.stdout.read(len(_HELLO))
        finally:
            timer.cancel()
        if seen == _HELLO:
            return
        self.stop()
        code = self.process.returncode
        if not seen and code is not None and code < 0 and not late.is_set():
            raise _Died(f"killed by signal {-code} while it started")
        raise _StartFailed(
            f"{sys.executable!r} started as a capture worker answered {seen[:60]!r}, "
            f"not {_HELLO!r} (exit code {code}"
            f"{f', no answer in {START_TIMEOUT_S:g} s' if late.is_set() else ''})"
        )

    def call(self, payload: bytes) -> tuple[str, Any]:
        """``("ok", result)``, ``("raised", prepare's exception)`` or ``("unread", text)``."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        try:
            _send(self.process.stdin, payload)
            answer = _receive(self.process.stdout)
        except (OSError, EOFError, ValueError) as error:
            try:
                code = self.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                code = None
            raise _Died(f"{error}; exit code {code}") from error
        try:
            kind, value, remote = pickle.loads(answer)
        except Exception as error:  # e.g. an exception type that does not unpickle
            return "unread", repr(error)
        if kind == "raised" and isinstance(value, BaseException) and remote:
            value.add_note(f"raised in capture worker process {self.process.pid}:\n{remote}")
        return kind, value

    def stop(self) -> None:
        """Kill the process (it may be half way through a message) and reap it."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.close()

    def close(self) -> None:
        """End of input: the worker exits; killed if it has not within a second."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):  # unsent bytes to a worker already gone
                self.process.stdin.close()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.process.kill()  # a reader of its answer gets end-of-file now
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _environment() -> dict[str, str]:
    """The parent's environment, plus the folder ``mics`` came from unless a site folder.

    Appended to ``PYTHONPATH`` (after what the parent has there), so that a checkout run
    from its source folder works; a site folder is searched anyway, and put on
    ``PYTHONPATH`` it would come before the standard library. The worker checks that
    it imported ``mics`` from this very folder (``_main``).
    """
    env = dict(os.environ)
    listed = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _SOURCE not in {str(Path(p).resolve()) for p in listed} | _site_folders():
        env["PYTHONPATH"] = os.pathsep.join([*listed, _SOURCE])
    return env


def _site_folders() -> set[str]:
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"], *site.getsitepackages()]
    found.append(site.getusersitepackages())
    return {str(Path(p).resolve()) for p in found if p}


def _send(pipe: IO[bytes], payload: bytes) -> None:
    pipe.write(_FRAME.pack(len(payload)))
    pipe.write(payload)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> bytes:
    head = pipe.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError("the worker closed its output")
    (length,) = _FRAME.unpack(head)
    if length > _MAX_FRAME:
        raise ValueError(f"a frame of {length} bytes: not a capture worker's answer")
    payload = pipe.read(length)
    if len(payload) < length:
        raise EOFError("the worker's answer was cut short")
    return payload


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


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """A worker's loop: read ``prepare`` arguments, answer ``(kind, value, traceback)``.

    ``kind`` is ``ok`` (the result), ``raised`` (prepare's exception) or ``unread``
    (the task did not unpickle; the parent prepares it itself). The cyclic garbage
    collector is off between full collections every ``_COLLECT`` tasks: a batch is
    ~60,000 containers that die by reference counting when the task ends, and the
    collections their allocation set off cost ~10% of a task.
    """
    gc.freeze()  # the modules imported so far are never garbage
    gc.disable()
    tasks = 0
    while True:
        tasks += 1
        if tasks % _COLLECT == 0:
            gc.collect()
        try:
            task = _receive(source)
        except (EOFError, ValueError):
            return  # the capturing process closed the pipe or died
        answer: tuple[str, Any, str]
        try:
            args = pickle.loads(task)
        except Exception as error:
            answer = ("unread", repr(error), "")
        else:
            try:
                answer = ("ok", prepare(*args), "")
            except Exception as error:  # sent back and raised in the capturing process
                answer = ("raised", error, traceback.format_exc())
        try:
            payload = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # the parent prepares it itself
            payload = pickle.dumps(("unread", repr(error), ""))
        try:
            _send(sink, payload)
        except BrokenPipeError:
            return


def _main() -> None:
    """A worker process: check it runs this very ``mics``, greet, then ``serve``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    expected = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    if expected is not None and Path(__file__).resolve().parents[2] != expected:
        sys.stderr.write(
            f"mics capture worker: imported mics from {Path(__file__).parents[2]}, "
            f"the capturing process uses {expected}\n"
        )
        raise SystemExit(2)
    # The protocol gets its own copy of stdout; stray prints go to stderr from now on.
    protocol = os.fdopen(os.dup(1), "wb")
    errors = sys.stderr.fileno() if sys.stderr is not None else os.open(os.devnull, os.O_WRONLY)
    os.dup2(errors, 1)
    protocol.write(_HELLO)
    protocol.flush()
    serve(sys.stdin.buffer, protocol)
