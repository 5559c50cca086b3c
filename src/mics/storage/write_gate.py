"""One SQLite writer at a time, queued in the application instead of SQLite's busy handler.

SQLite (even in WAL mode) lets one connection write at a time. A second writer
gets ``SQLITE_BUSY`` and Python's ``sqlite3`` busy handler retries after sleeps
that grow to 100 ms (SQLite ``sqliteDefaultBusyCallback``: 1, 2, 5, 10, 15, 20,
25, 25, 25, 50, 50, 100 ms), so under concurrent scans most writers sleep far
longer than the write they wait for takes (~0.1 ms). ``write_gate(db)`` queues
writers on a thread lock instead, then on an advisory ``flock(2)`` on a file
beside the database so the worker processes of one server queue too: each
waiter wakes the moment the previous writer is done.

PostgreSQL locks rows, not the database: its gate does nothing, and the
processes and hosts of ``mics serve --workers N`` need none there (a tag counter
moves by one conditional UPDATE, the log's appenders queue on its head row). On
SQLite the gate covers the processes of one host, the only ones that can share
the file; work that must run in one process at a time across hosts takes a
named lock (``mics.storage.locks``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mics.db import Database
from mics.errors import Unavailable


class GateBusy(Unavailable):
    """Another writer holds the gate and the caller asked not to wait.

    Callers that ask not to wait catch it (and retry or wait elsewhere); one that
    escapes is what it says, a 503 to try again, never a 500.
    """

    def __init__(self, message: str = "the database is busy with another write: try again") -> None:
        super().__init__(message, retry_after=1)


class WriteGate:
    """A thread lock, then (with ``lock_file``) an exclusive ``flock`` across processes.

    The lock file stays open (one descriptor per gate, per process, closed with
    the gate): opening it for every write cost a scan ~0.1 ms of path resolution
    and ``open(2)``.
    """

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self._threads = threading.Lock()
        self._fd = -1
        self._pid = 0

    def busy(self) -> bool:
        """Whether a writer would wait now: a thread of this process or another process.

        The file lock is probed (taken and given back at once, ~2 us): a caller
        that polls can skip its work while another worker writes, rather than
        doing it all to meet ``GateBusy`` at the end.
        """
        if not self._threads.acquire(blocking=False):
            return True
        try:
            if self.lock_file is None:
                return False
            fd = self._descriptor()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        assert self.lock_file is not None
        if self._fd < 0 or self._pid != os.getpid():
            # A forked worker opens its own: an inherited descriptor shares the lock.
            self._fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
            weakref.finalize(self, os.close, self._fd)
        return self._fd

    @contextmanager
    def __call__(self, *, wait: bool = True) -> Iterator[None]:
        """Hold the gate; with ``wait=False`` raise ``GateBusy`` at once instead of queueing.

        An event loop must not queue here (every request of its worker would wait
        with it): it asks with ``wait=False`` and, on ``GateBusy``, hands the
        request to a thread.
        """
        if not self._threads.acquire(blocking=wait):
            raise GateBusy
        try:
            if self.lock_file is None:
                yield
                return
            fd = self._descriptor()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise GateBusy from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


class OpenGate(WriteGate):
    """No queue: the database orders its writers itself (PostgreSQL row locks)."""

    def __init__(self) -> None:
        super().__init__(None)

    def busy(self) -> bool:
        return False

    @contextmanager
    def __call__(self, *, wait: bool = True) -> Iterator[None]:
        yield


# By file: every Database on one file shares its gate while any of them lives.
_GATES: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
_BY_DATABASE: weakref.WeakKeyDictionary[Database, WriteGate] = weakref.WeakKeyDictionary()
_GATES_LOCK = threading.Lock()


def write_gate(db: Database) -> WriteGate:
    """The gate of ``db``'s database: shared by every ``Database`` on the same file."""
    known = _BY_DATABASE.get(db)
    if known is None:  # resolving the file name takes a few lstat(2) calls: once
        known = _BY_DATABASE[db] = _gate_of(db)
    return known


def _gate_of(db: Database) -> WriteGate:
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        return _OPEN
    name = url.database or ""
    key = str(Path(name).resolve()) if name and name != ":memory:" else f"memory:{id(db)}"
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            lock_file = Path(f"{key}.write-lock") if not key.startswith("memory:") else None
            gate = _GATES[key] = WriteGate(lock_file)
        return gate


_OPEN = OpenGate()
