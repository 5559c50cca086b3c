"""Named locks held across every process (and host) that serves one database.

Some background work must run in one place at a time however many ``mics serve``
processes share a database: the verdict publisher's drain (two drains would
capture the same verdicts twice over, only for the second to find them stored)
and the webhook delivery round (two rounds would post the same events twice).
``exclusive(db, name)`` is that place:

- on PostgreSQL, a session-level advisory lock (``pg_advisory_lock``) held on a
  connection of its own in autocommit mode, so it spans the caller's own
  transactions, is seen by every host, and is dropped by the server if the
  process dies. Its key is a hash of the schema and the name: two MICS
  instances in two schemas of one database do not queue on each other;
- on SQLite, an advisory ``flock(2)`` on a file beside the database (one host:
  SQLite has no other), which a dead process gives back too;
- in memory, a thread lock of this process.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from mics.db import Database

__all__ = ["exclusive", "file_lock"]

_TRY = text("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || ':' || :n, 0))")
_WAIT = text("SELECT pg_advisory_lock(hashtextextended(current_schema() || ':' || :n, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(current_schema() || ':' || :n, 0))")
_MEMORY: dict[tuple[int, str], threading.Lock] = {}
_MEMORY_LOCK = threading.Lock()


@contextmanager
def exclusive(db: Database, name: str, *, wait: bool = False) -> Iterator[bool]:
    """Hold the lock ``name`` of ``db``'s database; yields whether it is held.

    With ``wait=False`` (the default) it yields False at once when another
    process or thread holds it: the caller skips its turn. With ``wait=True`` it
    queues and always yields True.
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        with _advisory(db, name, wait) as held:
            yield held
        return
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        with _memory(db, name, wait) as held:
            yield held
        return
    with file_lock(Path(f"{Path(database).resolve()}.{name}.lock"), wait=wait) as held:
        yield held


@contextmanager
def _advisory(db: Database, name: str, wait: bool) -> Iterator[bool]:
    with db.engine.connect() as plain:
        connection = plain.execution_options(isolation_level="AUTOCOMMIT")
        if wait:
            connection.execute(_WAIT, {"n": name})  # returns once held
            held = True
        else:
            held = bool(connection.execute(_TRY, {"n": name}).scalar())
        try:
            yield held
        finally:
            if held:
                connection.execute(_UNLOCK, {"n": name})


@contextmanager
def file_lock(path: Path, *, wait: bool = False) -> Iterator[bool]:
    """An exclusive ``flock(2)`` on ``path`` (made if absent); yields whether it is held."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def _memory(db: Database, name: str, wait: bool) -> Iterator[bool]:
    with _MEMORY_LOCK:
        lock = _MEMORY.setdefault((id(db), name), threading.Lock())
    if not lock.acquire(blocking=wait):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()
