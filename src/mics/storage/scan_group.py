"""Group commit: the tag scans answered in one pass of the event loop share one transaction.

On SQLite the server verifies scans on its event loop, one after another
(``api.resolver._inline``), and every scan used to end in its own commit: a
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

Measured with bench/scan.py (see src/mics/passport/BENCH.md, round 4).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager, suppress
from typing import Any

from mics.db import Database
from mics.errors import Unavailable
from mics.storage.statements import dbapi_connection
from mics.storage.write_gate import GateBusy, write_gate

__all__ = ["ScanGroup", "scan_group"]


class ScanGroup:
    """One SQLite transaction shared by the scans of one event-loop pass (see the module)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.connection: Any = None  # the open group's DBAPI connection
        self._held: ExitStack | None = None  # its gate and pooled connection
        self._committed: asyncio.Future[None] | None = None
        self._spoiled = self._wrote = False
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

    def spoil(self) -> None:
        """A member failed after it started writing: roll the whole group back."""
        self._spoiled = True

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
        spoiled = self._spoiled
        self._held = self._committed = self.connection = None
        self._spoiled = False  # the next group starts clean
        assert held is not None
        assert committed is not None
        failure: BaseException | None = Unavailable(
            "the scan could not be recorded; nothing of it was kept"
        )
        try:
            if spoiled:
                raise Unavailable("a scan recorded together with this one failed; nothing was kept")
            if self._wrote and not connection.in_transaction:
                # SQLite rolled the transaction back itself (I/O error, disk full) while
                # a member was reading: the earlier members' writes are gone
                raise Unavailable("the scan's transaction was lost; nothing was kept")
            connection.commit()
            failure = None
        except Exception as error:  # every member hears of it, as a 503
            failure = (
                error
                if isinstance(error, Unavailable)
                else Unavailable(f"the scan could not be recorded ({type(error).__name__})")
            )
        finally:
            held.close()  # the pool rolls back whatever was not committed; the gate opens
            if failure is None:
                committed.set_result(None)
            else:  # also when something worse than an Exception stopped the commit
                committed.set_exception(failure)
                committed.exception()  # retrieved: members that all left are no error


_GROUPS: weakref.WeakKeyDictionary[Database, ScanGroup] = weakref.WeakKeyDictionary()


def scan_group(db: Database) -> ScanGroup:
    """The group of ``db`` (one per database; used only from the event loop's thread)."""
    group = _GROUPS.get(db)
    if group is None:
        group = _GROUPS[db] = ScanGroup(db)
    return group
