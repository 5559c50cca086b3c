"""One SQLite writer at a time, queued in the application instead of SQLite's busy handler.

SQLite (even in WAL mode) lets one connection write at a time. A second writer
gets ``SQLITE_BUSY`` and Python's ``sqlite3`` busy handler retries after sleeps
that grow to 100 ms (SQLite ``sqliteDefaultBusyCallback``: 1, 2, 5, 10, 15, 20,
25, 25, 25, 50, 50, 100 ms), so under concurrent scans most writers sleep far
longer than the write they wait for takes (~0.1 ms). ``write_gate(db)`` queues
writers on a thread lock instead, then on an advisory ``flock(2)`` on a file
beside the database so the worker processes of one server queue too: each
waiter wakes the moment the previous writer is done.

PostgreSQL locks rows, not the database: its gate does nothing.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mics.db import Database


class WriteGate:
    """A thread lock, then (with ``lock_file``) an exclusive ``flock`` across processes."""

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self._threads = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._threads:
            if self.lock_file is None:
                yield
                return
            with self.lock_file.open("a") as handle:  # closing it releases the lock too
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield


class OpenGate(WriteGate):
    """No queue: the database orders its writers itself (PostgreSQL row locks)."""

    def __init__(self) -> None:
        super().__init__(None)

    @contextmanager
    def __call__(self) -> Iterator[None]:
        yield


_GATES: dict[str, WriteGate] = {}
_GATES_LOCK = threading.Lock()


def write_gate(db: Database) -> WriteGate:
    """The gate of ``db``'s database: shared by every ``Database`` on the same file."""
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
