"""The server's prebuilder: passports of tagged items assembled off the request path.

``passport.prebuild.warm`` writes a tagged item's snapshot before anyone scans
it; ``mics passport warm`` runs it by hand (after a bulk import, say). In the
server, one ``Prebuilder`` thread per process runs it on its own, fed by the
faces after a commit:

- ``enrolled(item_ids)`` after a tag was registered: those items;
- ``captured()`` after events were captured: the items whose snapshot watches an
  identifier the new events name (the change check a scan applies:
  ``Frozen.watch``, the identifiers the walk met; ``snapshots.items_watching``)
  and the tagged items they name themselves; each is rebuilt only when that
  check finds it stale;
- ``registry_changed()`` after a partner, material or product was edited: every
  tagged item's snapshot checked (the product part's digest) and the stale rebuilt;
- at start, one sweep for tagged items that have no snapshot yet, held by one
  process at a time (``storage.locks``: ``mics serve --workers N`` shares it);
- every ``POLL_S`` without a notice, a look for events stored meanwhile (by another
  process, host or ``mics epcis capture``: no notice reaches this one), as after
  ``captured()``; a look that finds only scan verdicts (no provenance) does nothing.

It never works in a request: notices only add to a bounded set (past
``QUEUE_LIMIT`` items the next pass sweeps for missing snapshots instead) and
wake the thread, which waits ``DELAY_S`` for the rest of a burst. Before each
assembly it waits for a quiet moment (``QUIET_S`` since the last request, at
most ``PATIENCE_S``) and it runs at the lowest CPU priority the OS gives a
thread; writes go in batches, on SQLite through the write gate. A failing pass
is logged and the thread goes on; a scan never depends on it (a missing or
stale snapshot only means the scan assembles, as without a prebuilder).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable

from mics.db import Database
from mics.errors import InvalidInput
from mics.passport import prebuild, snapshots
from mics.passport.digital_link import parse_digital_link
from mics.passport.languages import LANGUAGES
from mics.passport.passport_cache import verdict_published
from mics.storage import locks
from mics.trace import reads as trace_reads

__all__ = ["DELAY_S", "QUEUE_LIMIT", "Prebuilder"]

DELAY_S = 0.5  # after the first notice, for the rest of a burst
POLL_S = 30.0  # without a notice, look for new events this often
QUEUE_LIMIT = 10_000  # items waiting; beyond, a sweep for missing snapshots instead
NAMED_LIMIT = 5_000  # identifiers new events name; beyond, every tagged item is checked
BATCH = 20  # items a transaction: the SQLite write gate is held a few ms at a time
QUIET_S = 0.05  # no request for this long: a quiet moment
PATIENCE_S = 2.0  # under constant load, build one item per this long anyway
LOCK = "passport-prebuild"

_log = logging.getLogger(__name__)


class Stopped(Exception):
    """The prebuilder was stopped in the middle of a pass."""


class Prebuilder:
    """One background thread writing passport snapshots of tagged items (module docstring)."""

    def __init__(
        self,
        db: Database,
        base_url: str,
        *,
        languages: Iterable[str] = LANGUAGES,
        delay: float = DELAY_S,
        limit: int = QUEUE_LIMIT,
        poll: float = POLL_S,
    ) -> None:
        self.db, self.base_url = db, base_url
        self.languages = tuple(languages)
        self.delay, self.limit, self.poll = delay, limit, poll
        self.last_request = 0.0  # time.monotonic() of the last request: the faces set it
        self.passes = 0  # passes finished (with or without an error)
        self.errors = 0  # passes that failed (logged)
        self._items: set[int] = set()
        self._events = False
        self._sweep = False
        self._check_all = False
        self._working = False
        self._cursor = 0  # the last event id looked at
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, *, sweep: bool = True) -> None:
        """Start the thread (``sweep``: first write the snapshots tagged items lack)."""
        if self.running:
            return
        with self.db.engine.connect() as conn:  # events from now on are looked at
            self._cursor = trace_reads.last_event_id(conn)
        self._stopping.clear()
        self._sweep = sweep
        self._thread = threading.Thread(target=self._run, name="passport-prebuild", daemon=True)
        self._thread.start()
        if sweep:
            self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the item under way (its batch is not written)."""
        thread, self._thread = self._thread, None
        self._stopping.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def enrolled(self, item_ids: Iterable[int]) -> None:
        """Tags were registered on ``item_ids`` (their commit is done): prebuild them."""
        if not self.running:
            return
        with self._lock:
            self._items.update(item_ids)
            if len(self._items) > self.limit:  # a sweep finds them: they have no snapshot
                self._items.clear()
                self._sweep = True
        self._wake.set()

    def captured(self) -> None:
        """Events were captured (their commit is done): rebuild what they made stale."""
        if not self.running:
            return
        with self._lock:
            self._events = True
        self._wake.set()

    def registry_changed(self) -> None:
        """A partner, material or product changed (committed): check every tagged item's
        snapshot (the product part's digest tells which are stale) and rebuild those."""
        if not self.running:
            return
        with self._lock:
            self._check_all = True
        self._wake.set()

    def idle(self) -> bool:
        """Whether nothing waits and no pass is under way (tests wait for it)."""
        with self._lock:
            waiting = self._items or self._events or self._sweep or self._check_all
            waiting = waiting or self._wake.is_set()
            return not (waiting or self._working)

    # --- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        _lower_priority()
        while not self._stopping.is_set():
            if not self._wake.wait(self.poll):  # captures no notice told of: another
                with self._lock:  # process's, the CLI's
                    self._events = True
            elif self._stopping.wait(self.delay):  # the rest of a burst comes meanwhile
                return
            if self._stopping.is_set():
                return
            with self._lock:
                self._wake.clear()
                items, self._items = self._items, set()
                events, self._events = self._events, False
                sweep, self._sweep = self._sweep, False
                check_all, self._check_all = self._check_all, False
                self._working = True
            try:
                self._pass(items, events, sweep, check_all)
            except Stopped:
                return
            except Exception:  # logged; the server and the next pass go on
                self.errors += 1
                _log.exception("passport prebuild: a pass failed (scans assemble instead)")
            finally:
                with self._lock:
                    self._working = False
                    self.passes += 1

    def _pass(self, items: set[int], events: bool, sweep: bool, check_all: bool) -> None:
        if sweep and not check_all:
            with locks.exclusive(self.db, LOCK) as held:
                if held:  # else another process sweeps
                    self._warm(None, missing_only=True)
        if events:
            touched = self._touched()
            check_all = check_all or touched is None
            items |= touched or set()
        if check_all:  # every tagged item, each snapshot checked (missing ones too)
            self._warm(None)
        elif items:
            self._warm(items)

    def _warm(self, items: set[int] | None, *, missing_only: bool = False) -> None:
        done = prebuild.warm(
            self.db,
            self.base_url,
            item_ids=items,
            languages=self.languages,
            batch=BATCH,
            missing_only=missing_only,
            pause=self._yield,
        )
        if done.written or done.failed:
            _log.info("passport prebuild: %s", done.summary())

    def _touched(self) -> set[int] | None:
        """Items the events stored since the last look may have made stale (None: too many
        identifiers named to tell; check every tagged item)."""
        with self.db.engine.connect() as conn:
            mark = trace_reads.last_event_id(conn)
            if mark <= self._cursor:
                return set()
            named = trace_reads.named_between(
                conn,
                self._cursor,
                mark,
                NAMED_LIMIT + 1,
                skip=lambda event_id: ~verdict_published(event_id),
            )
        self._cursor = mark
        if len(named) > NAMED_LIMIT:
            return None
        found = snapshots.items_watching(self.db, named)
        return found | self._tagged_named(named)

    def _tagged_named(self, named: list[str]) -> set[int]:
        """The tagged items an event names by their own Digital Link (not yet snapshotted)."""
        by_gtin: dict[str, set[str]] = {}
        for identifier in named:
            try:
                link = parse_digital_link(identifier)
            except InvalidInput:
                continue
            if link.serial is not None:
                by_gtin.setdefault(link.gtin, set()).add(link.serial)
        found: set[int] = set()
        for gtin, serials in by_gtin.items():
            chosen = sorted(serials)
            found.update(
                target.item_id
                for target in prebuild.targets(
                    self.db, gtin=gtin, serials=chosen, limit=len(chosen)
                )
            )
        return found

    def _yield(self) -> None:
        """Before an assembly: wait for a quiet moment (requests first), or stop."""
        waited = 0.0
        while time.monotonic() - self.last_request < QUIET_S and waited < PATIENCE_S:
            if self._stopping.wait(QUIET_S):
                raise Stopped
            waited += QUIET_S
        if self._stopping.is_set():
            raise Stopped


def _lower_priority() -> None:
    """This thread at the lowest CPU priority (Linux gives each thread its own nice value)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
