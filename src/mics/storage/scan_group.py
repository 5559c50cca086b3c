"""Group commit: the tag scans answered in one pass of the event loop share one transaction.

On SQLite the server verifies scans on its event loop, one after another
(``api.links._inline``), and every scan used to end in its own commit: a
pool checkout, a ``COMMIT`` writing the same few pages (the tag row, the scan
row, their index pages) to the WAL again, and the gate taken and given back.
A ``ScanGroup`` instead opens one transaction (one pooled connection, the write
gate held) for the first scan of a loop pass, lets the scans that follow in the
same pass read and write on it, and commits it at the start of the next pass
(``loop.call_soon``). Each scan's answer waits for that commit (``committed``):
nothing is said about a scan before it is durable as far as SQLite's
``synchronous=NORMAL`` WAL makes anything durable.

What does not change: a scan's reads see every scan before it (same connection,
same transaction), so two scans of one tag in one group are judged in order and
the compare-and-set still accepts a counter once. A scan that fails before it
writes leaves the group alone. A scan that fails after it started writing
spoils the group (SQLite cannot take back one scan's statements without a
savepoint each, a fifth of a scan): the group is rolled back and every scan in
it is answered ``Unavailable`` (503, nothing kept, try again), as a failed
commit is.

The verdict publisher, on the same loop, needs the gate between groups:
``paused()`` waits for the open group's commit and keeps new groups from
opening until the publisher is done (scans wait meanwhile, polling, as they do
for any other writer).

On PostgreSQL the group works the same way (one pooled connection, its row
locks instead of the gate) except for the commit: it runs on a thread, so the
loop goes on with the next group (on another connection) while PostgreSQL
flushes its WAL, and the members' answers still wait for it. A member that
updates a tag row the committing group holds waits for that commit (row lock),
which needs no loop. A database error in a read spoils the group too there
(PostgreSQL aborts the whole transaction). The server groups SQLite's scans only
(``api.links._inline``): on PostgreSQL its request threads overlap the network
waits that one event loop would take in turn.

A scan joins a group through ``member_of(group)`` around the plain
``passport.scans.verify_scan``, which takes its transaction from
``scan_unit(db)``: the current group's, or its own connection and commit.

Measured with bench/scan.py (see src/mics/passport/BENCH.md, rounds 4 and 9).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio.to_thread

from mics.db import Database
from mics.errors import Unavailable
from mics.storage.statements import dbapi_connection
from mics.storage.write_gate import GateBusy, write_gate

__all__ = ["ScanGroup", "ScanUnit", "gated", "member_of", "scan_group", "scan_unit"]

Answer = TypeVar("Answer")


class ScanGroup:
    """One transaction shared by the scans of one event-loop pass (see the module)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sqlite = db.engine.dialect.name == "sqlite"
        self.connection: Any = None  # the open group's DBAPI connection
        self._held: ExitStack | None = None  # its gate and pooled connection
        self._committed: asyncio.Future[None] | None = None
        self._spoiled = self._wrote = False
        self._cause: BaseException | None = None  # the database error that spoiled it
        self._pauses = 0

    @property
    def open(self) -> bool:
        return self._committed is not None

    @property
    def committed(self) -> asyncio.Future[None] | None:
        """The open group's commit (its members wait for it), or None."""
        return self._committed

    def joinable(self) -> bool:
        """Whether a scan can go ahead now: a group is open and sound, or the gate is free."""
        if self._pauses or self._spoiled:
            return False
        return self.open or not write_gate(self.db).busy()

    def join(self) -> tuple[Any, asyncio.Future[None]]:
        """The open group's connection and the future of its commit; opens a group if none.

        Raises ``GateBusy`` when another writer holds the gate (nothing opened), and
        while the open group is spoiled: a scan that joined it would be refused at its
        commit, so it waits for the next group instead.
        """
        if self._pauses or self._spoiled:
            raise GateBusy
        if self._committed is None:
            loop = asyncio.get_running_loop()  # first: without a loop nothing is taken
            held = ExitStack()
            try:
                held.enter_context(write_gate(self.db)(wait=False))
                self.connection = held.enter_context(dbapi_connection(self.db.engine))
            except BaseException:
                held.close()
                raise
            self._held, self._committed = held, loop.create_future()
            self._spoiled = self._wrote = False
            loop.call_soon(self._commit)
        return self.connection, self._committed

    def wrote(self) -> None:
        """A member is about to write: the group's transaction must still be open at commit."""
        self._wrote = True

    def spoil(self, cause: BaseException | None = None) -> None:
        """A member failed after it started writing: roll the whole group back."""
        self._spoiled = True
        self._cause = self._cause or cause

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """The open group committed and no new one opened until the block ends."""
        self._pauses += 1
        try:
            if self._committed is not None:
                with suppress(Unavailable):  # its members are told; the pause goes on
                    await asyncio.shield(self._committed)
            yield
        finally:  # cancelled while waiting too: scans must not stay shut out
            self._pauses -= 1

    def _commit(self) -> None:
        held, committed, connection = self._held, self._committed, self.connection
        spoiled, wrote = self._spoiled, self._wrote
        cause, self._cause = self._cause, None
        self._held = self._committed = self.connection = None
        self._spoiled = False  # the next group starts clean
        assert held is not None
        assert committed is not None
        if self.sqlite:  # the gate opens when the commit is done: on the loop, at once
            _settle(committed, _finish(held, connection, spoiled, wrote, cause))
            return
        # PostgreSQL: the WAL flush on a thread, the loop goes on meanwhile
        loop = committed.get_loop()
        done = loop.run_in_executor(None, _finish, held, connection, spoiled, wrote, cause)
        done.add_done_callback(lambda ran: _settle(committed, _outcome(ran)))


def _finish(
    held: ExitStack, connection: Any, spoiled: bool, wrote: bool, cause: BaseException | None
) -> BaseException | None:
    """Commit a group's transaction and give back its connection (and gate); the failure.

    ``cause``: the database error that spoiled the group, if one did; with it the
    connection leaves the pool when the error says it is dead.
    """
    failure: BaseException | None = Unavailable(
        "the scan could not be recorded; nothing of it was kept"
    )
    try:
        if spoiled:
            raise Unavailable("a scan recorded together with this one failed; nothing was kept")
        if wrote and _transaction_lost(connection):
            # SQLite rolled the transaction back itself (I/O error, disk full) while
            # a member was reading, or PostgreSQL aborted it: the members' writes are gone
            raise Unavailable("the scan's transaction was lost; nothing was kept")
        connection.commit()
        failure = None
    except Exception as error:  # every member hears of it, as a 503
        cause = cause or error
        failure = (
            error
            if isinstance(error, Unavailable)
            else Unavailable(f"the scan could not be recorded ({type(error).__name__})")
        )
    finally:
        # the pool rolls back whatever was not committed; the gate opens
        if cause is None:
            held.close()
        else:  # ``dbapi_connection`` sees the error: a dead connection leaves the pool
            held.__exit__(type(cause), cause, cause.__traceback__)
    return failure


def _transaction_lost(connection: Any) -> bool:
    """Whether the driver's transaction is gone: ``sqlite3``'s flag, psycopg's status."""
    if hasattr(connection, "in_transaction"):
        return not connection.in_transaction
    return bool(connection.info.transaction_status.name != "INTRANS")


def _outcome(ran: asyncio.Future[BaseException | None]) -> BaseException | None:
    if ran.cancelled():
        return Unavailable("the scan could not be recorded; nothing of it was kept")
    return ran.exception() or ran.result()


def _settle(committed: asyncio.Future[None], failure: BaseException | None) -> None:
    if failure is None:
        committed.set_result(None)
    else:  # also when something worse than an Exception stopped the commit
        committed.set_exception(failure)
        committed.exception()  # retrieved: members that all left are no error


class ScanUnit:
    """One scan's transaction: its DBAPI connection and the step before its first write."""

    def __init__(
        self, connection: Any, db: Database, group: ScanGroup | None, held: ExitStack | None
    ) -> None:
        self.connection, self.db, self.group, self._held = connection, db, group, held
        self.writing = False

    def write(self) -> None:
        """Before the scan's first write: alone, take the write gate until the commit (SQLite:
        one writer at a time); in a group, tell the group (it holds the gate)."""
        self.writing = True
        if self.group is not None:
            self.group.wrote()
        elif self._held is not None:
            self._held.enter_context(write_gate(self.db)(wait=True))


_CURRENT: ContextVar[ScanGroup | None] = ContextVar("mics_scan_group", default=None)


@contextmanager
def member_of(group: ScanGroup | None) -> Iterator[None]:
    """Scans verified in this block join ``group`` (None: each commits on its own)."""
    token = _CURRENT.set(group)
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def scan_unit(db: Database) -> Iterator[ScanUnit]:
    """The transaction a scan runs in: the current group's (``member_of``) or its own.

    Its own is a pooled connection committed when the block ends without an error. In
    a group, a block that fails after it started writing, or on a database error,
    spoils the group (see the module); the group commits later.
    """
    group = _CURRENT.get()
    if group is not None and group.db is db:
        connection, _ = group.join()
        unit = ScanUnit(connection, db, group, None)
        try:
            yield unit
        except BaseException as error:
            if unit.writing or _database_error(db, error):
                # its first statements may stand: the group must not commit
                group.spoil(error.__cause__ if isinstance(error, Unavailable) else error)
            raise
        return
    with ExitStack() as held:
        connection = held.enter_context(dbapi_connection(db.engine))
        unit = ScanUnit(connection, db, None, held)
        yield unit
        connection.commit()  # under the gate, if the scan took it


def _database_error(db: Database, error: BaseException) -> bool:
    errors = db.engine.dialect.loaded_dbapi.Error
    return isinstance(error, errors) or isinstance(error.__cause__, errors)


_GROUPS: weakref.WeakKeyDictionary[Database, ScanGroup] = weakref.WeakKeyDictionary()


def scan_group(db: Database) -> ScanGroup:
    """The group of ``db`` (one per database; used only from the event loop's thread)."""
    group = _GROUPS.get(db)
    if group is None:
        group = _GROUPS[db] = ScanGroup(db)
    return group


# A scan that finds the SQLite write gate held (the verdict publisher capturing a
# batch, ~5-10 ms) waits for it on the event loop, polling, rather than on a pool
# thread: measured with bench/scan.py, handing those scans to threads cost the
# hop, GIL hand-offs and pool-overflow connections, and throughput fell to a
# third. After GATE_POLLS polls (~0.25 s) it waits on a thread after all.
GATE_POLLS, GATE_POLL_S = 500, 0.0005


async def gated(db: Database, answer: Callable[[ScanGroup | None], Answer]) -> Answer:
    """``answer(group)`` on the event loop, polling while another writer holds the gate.

    The scan joins this loop pass's group and its answer
    goes out once the group has committed. After ``GATE_POLLS`` polls,
    ``answer(None)`` on a thread, waiting for the gate there.
    """
    group = scan_group(db)
    for _ in range(GATE_POLLS):
        if group.joinable():
            try:
                _, committed = group.join()
            except GateBusy:
                pass  # another process is writing
            else:
                response = answer(group)
                # shielded: one cancelled request must not cancel its group's commit
                await asyncio.shield(committed)  # Unavailable (503) if it could not commit
                return response
        await asyncio.sleep(GATE_POLL_S)  # let other requests run meanwhile
    return await anyio.to_thread.run_sync(answer, None)
