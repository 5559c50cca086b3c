"""Passports served fast: the slow-moving part as JSON bytes, verdict and ownership read fresh.

A passport (``passport.view.passport_json``) is mostly facts that change
seldom - the product, its maker and materials, the footprint, the provenance
timeline - and costs tens of milliseconds to assemble (registry, BOM tree,
EPCIS genealogy, footprint). Two of its parts change with any scan or resale:
``authenticity`` (the last scan verdict) and ``ownership`` (owners, since when,
lost or stolen). A scan answer must never show either one stale.

``PassportCache`` keeps, per (item, tier, language, base URL), the tier-filtered
passport *without* those two parts, serialised once as compact JSON bytes, and
splices freshly read ``authenticity`` and ``ownership`` (filtered to the same
tier with the ``passport.access`` rules) into every answer. The slow part is
reused for ``ttl`` to 1.5 ``ttl`` seconds (spread at random), then checked on a
background thread while the old bytes keep being served
(stale-while-revalidate), so no request waits once an item has been assembled
once. The check is cheap and the rebuild is not, so an item is only rebuilt
when something it shows may have changed: a new event naming one of the
identifiers its provenance walked (``Frozen.watch``; tag-scan verdict events
do not count, they are not provenance), a change in its product's shared part
(``view.product_part``: BOM, materials, footprint - assembled once per product
and ``ttl``, not once per item), or ``max_age`` reached (item edits in the
registry). A new supply-chain event therefore shows within 1.5 ``ttl`` plus
one rebuild. ``clear()`` drops everything (after a registry edit, say). Each
worker process keeps its own cache: nothing in it needs to be shared, because
the volatile parts come from the database on every request.

With ``snapshots=True`` (the server's cache) every slow part assembled is also
written, off the request path, to the ``passport_snapshot`` table
(``passport.snapshots``). A key this process does not hold - after a restart,
in another worker, or pushed out of a full cache (the oldest entry goes) - is
recalled from there and served once it passes the same check a due entry
passes: its product part's digest (content, not a counter: it holds across
processes) and no new provenance event naming what it walked. Two or three
compiled statements instead of an assembly.

Measured (``bench/scan.py``, 2,000 tagged items): rebuilding every item each
``ttl`` took a whole core (2,000 x ~26 ms per 30-45 s) and left scans at
66-209/s; with the product part shared and rebuilds only on change, a due
item costs one indexed read (~0.2 ms). First scans: ``src/mics/passport/BENCH.md``
round 5 (``bench/scan.py ... restart`` and ``... evict``).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, exists
from sqlalchemy.engine import Dialect

from mics.db import Database
from mics.passport import access, snapshots
from mics.passport.digital_link import DigitalLink
from mics.passport.languages import language_code
from mics.passport.store import TagScanRow
from mics.passport.view import (
    VERDICT_FIELD,
    VOLATILE,
    Assembled,
    assemble,
    find_subject,
    product_part,
)
from mics.passport.volatile import visible_keys, volatile_parts
from mics.registry import reads as registry
from mics.storage.statements import Statement, dbapi_connection
from mics.trace import reads as trace_reads

Key = tuple[str, str | None, str | None, str, str, str]


def compact(value: Any) -> bytes:
    """JSON without spaces (what ``JSONResponse`` writes), as UTF-8 bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Frozen:
    """The slow part of one passport: JSON bytes of an object, volatile parts left out.

    ``watch`` holds the identifiers whose new events may change it (None: rebuild
    whenever due), ``watermark`` the last event id stored when it was assembled,
    ``shared`` the digest of the product part (and registry context) it was
    assembled from.
    """

    body: bytes
    item_id: int | None
    made: float  # time.monotonic() when assembled (or recalled from a snapshot)
    watch: frozenset[str] | None = None
    watermark: int = 0
    shared: str = ""


# Snapshots assembled within this long are written together, in one transaction: a burst
# of first scans (a restart under load) costs the write gate one commit, not one each.
SAVE_DELAY_S = 2.0
WATCH_LIMIT = 500  # identifiers; a larger provenance is rebuilt whenever due
CHANGES_LIMIT = 200  # new events to look at before simply rebuilding


def freeze(
    db: Database,
    link: DigitalLink,
    tier: str,
    lang: str,
    base_url: str,
    shared: tuple[str, dict[str, Any]] | None = None,
) -> Frozen:
    """Assemble the passport (slow) and keep it as bytes without its volatile parts.

    ``shared`` is (digest, ``view.product_part``) when the caller caches it. The
    bytes are those of ``view.passport_json`` without ``VOLATILE`` (a test
    compares the two on the same data).
    """
    made = time.monotonic()
    access.check_tier(tier)
    lang = language_code(lang)
    with db.engine.connect() as conn:  # read first: an event stored meanwhile is seen next time
        watermark = trace_reads.last_event_id(conn)
    subject = find_subject(db, link.gtin, link.serial, link.lot)
    if shared is None:
        shared = ("", product_part(db, subject.gtin, lang=lang))
    slow = assemble(db, subject, shared[1], lang=lang, base_url=base_url)
    return frozen_of(slow, tier, made, watermark, shared[0])


def frozen_of(slow: Assembled, tier: str, made: float, watermark: int, shared: str) -> Frozen:
    """An assembled slow part filtered to ``tier`` and kept as bytes (``freeze``'s end)."""
    body = access.filter_to_tier(slow.body, tier) | {"tier": tier}
    watch = slow.walked if len(slow.walked) <= WATCH_LIMIT else None
    return Frozen(compact(body), slow.item_id, made, watch, watermark, shared)


def shared_part(db: Database, gtin: str, lang: str) -> tuple[str, dict[str, Any]]:
    """The product part and the digest of it and of the registry context items read.

    The digest names the content, so it holds across processes and restarts: a
    snapshot assembled from another product part (or before a partner's city or
    GLN changed) does not match it.
    """
    part = product_part(db, gtin, lang=lang)
    with db.read() as s:  # what assemble reads of the registry besides the product
        context = [
            registry.places_by_gln(s),
            registry.partner_ids_by_gln(s),
            sorted(registry.operator_ids(s)),
        ]
    return hashlib.sha256(compact([part, context])).hexdigest(), part


def verdict_published(event_id: ColumnElement[str]) -> ColumnElement[bool]:
    """An event the scan outbox published (a verdict: not provenance), in SQL."""
    return exists().where(TagScanRow.event_id == event_id)


_LAST_EVENT = Statement(trace_reads.LAST_EVENT_ID)
_NEW_EVENTS = Statement(trace_reads.new_events_naming(skip=lambda eid: ~verdict_published(eid)))


def provenance_changed(db: Database, frozen: Frozen) -> tuple[bool, int]:
    """Whether an event stored since ``frozen`` names what its provenance walked; the new mark.

    Tag-scan verdict events name the item too, but are not provenance (the view
    leaves out events carrying ``VERDICT_FIELD``). Those the scan outbox has
    published (``tag_scan.event_id``) are left out in SQL; any other event's body
    is read and checked as the view checks it. Without a ``watch`` set the answer
    is always yes.
    """
    with dbapi_connection(db.engine) as connection:
        return changed_on(connection, db.engine.dialect, frozen)


def changed_on(connection: Any, dialect: Dialect, frozen: Frozen) -> tuple[bool, int]:
    """``provenance_changed`` on a DBAPI connection: one compiled statement per identifier
    (the ``(epc, role, event)`` index seeks to each one's new events)."""
    mark = int(_LAST_EVENT.rows(connection, dialect, {})[0][0] or 0)
    if frozen.watch is None:
        return True, mark
    if mark <= frozen.watermark or not frozen.watch:
        return False, mark
    seen = 0
    for epc in sorted(frozen.watch):
        params = {"epc": epc, "after": frozen.watermark, "upto": mark, "limit": CHANGES_LIMIT + 1}
        bodies = [row[0] for row in _NEW_EVENTS.rows(connection, dialect, params)]
        seen += len(bodies)
        if seen > CHANGES_LIMIT:
            return True, mark
        if any(VERDICT_FIELD not in json.loads(body) for body in bodies):
            return True, mark
    return False, mark


def splice(frozen: Frozen, tier: str, parts: dict[str, dict[str, Any]]) -> bytes:
    """The whole passport: the frozen bytes with the volatile ``parts`` added, filtered."""
    keys = visible_keys(tier)
    tail = b""
    for name in VOLATILE:
        kept = {k: v for k, v in parts[name].items() if k in keys[name]}
        if kept:
            tail += b',"' + name.encode() + b'":' + compact(kept)
    return frozen.body[:-1] + tail + b"}"


# --- the cache ---------------------------------------------------------------------------------


class PassportCache:
    """Frozen passports per (gtin, serial, lot, tier, lang, base URL), refreshed after ``ttl``.

    With ``snapshots`` the slow parts are also kept in the database
    (``passport.snapshots``): an entry this process does not hold (after a
    restart, or pushed out of a full cache) is recalled and checked there before
    it is assembled anew.
    """

    def __init__(
        self,
        ttl: float = 30.0,
        size: int = 10_000,
        build: Callable[[Database, DigitalLink, str, str, str], Frozen] | None = None,
        max_age: float | None = None,
        *,
        snapshots: bool = False,
    ) -> None:
        self.ttl, self.size = ttl, size
        self.max_age = 10 * ttl if max_age is None else max_age
        self.build = build or self._assemble
        self.snapshots = snapshots and build is None
        self._entries: dict[Key, tuple[float, Frozen]] = {}  # (check after, passport)
        # Product parts: (gtin, lang) -> (check after, digest, part).
        self._shared: dict[tuple[str, str], tuple[float, str, dict[str, Any]]] = {}
        self._refreshing: set[Key] = set()
        self._unsaved: dict[Key, tuple[Database, Frozen]] = {}
        self._saver: threading.Timer | None = None
        self._lock = threading.Lock()
        self._refresher: ThreadPoolExecutor | None = None

    def frozen(
        self, db: Database, link: DigitalLink, tier: str, lang: str, base_url: str
    ) -> Frozen:
        """The slow part: cached, recalled from its snapshot, or assembled now."""
        key: Key = (link.gtin, link.serial, link.lot, tier, lang, base_url)
        found = self._entries.get(key)
        if found is None:
            recalled = self._recall(db, key) if self.snapshots else None
            if recalled is not None:
                return self._store(key, recalled)
            built = self.build(db, link, tier, lang, base_url)
            self._save_later(db, key, built)
            return self._store(key, built)
        if found[0] < time.monotonic():
            self._refresh_later(key, db, link)
        return found[1]

    def passport(
        self,
        db: Database,
        link: DigitalLink,
        tier: str,
        lang: str,
        base_url: str,
        authenticity: dict[str, Any] | None = None,
        ownership: dict[str, Any] | None = None,
    ) -> bytes:
        """The passport JSON, with the verdict and ownership as they are now.

        A scan passes both as it has just read them (``ownership_of``).
        """
        frozen = self.frozen(db, link, tier, lang, base_url)
        return splice(frozen, tier, volatile_parts(db, frozen.item_id, authenticity, ownership))

    def clear(self) -> None:
        self._entries.clear()
        self._shared.clear()

    def close(self) -> None:
        """Wait for the rebuilds under way and write the snapshots queued (a later one starts
        a new thread)."""
        with self._lock:
            refresher, self._refresher = self._refresher, None
            saver = self._saver
        if refresher is not None:
            refresher.shutdown(wait=True)
        if saver is not None:
            saver.cancel()
            saver.join()
        self._save()

    def _assemble(
        self, db: Database, link: DigitalLink, tier: str, lang: str, base_url: str
    ) -> Frozen:
        return freeze(db, link, tier, lang, base_url, self._product(db, link.gtin, lang))

    def _product(self, db: Database, gtin: str, lang: str) -> tuple[str, dict[str, Any]]:
        """The product part and its digest (``shared_part``), kept for ``ttl``."""
        key = (gtin, lang)
        found = self._shared.get(key)
        now = time.monotonic()
        if found is not None and found[0] >= now:
            return found[1], found[2]
        digest, part = shared_part(db, gtin, lang)
        with self._lock:  # requests and the refresher thread both get here
            self._shared[key] = (now + self.ttl, digest, part)
        return digest, part

    def _store(self, key: Key, frozen: Frozen, since: float | None = None) -> Frozen:
        if len(self._entries) >= self.size and key not in self._entries:
            # the oldest entry out (its snapshot, if any, stays in the database)
            self._entries.pop(next(iter(self._entries)), None)
        # Up to half a ttl more, at random: passports assembled together (a warm-up,
        # a label run) must not all fall due, and be checked, in the same second.
        start = frozen.made if since is None else since
        due = start + self.ttl * (1.0 + random.random() / 2)
        self._entries[key] = (due, frozen)
        return frozen

    def _trusted(self, db: Database, key: Key, frozen: Frozen) -> Frozen | None:
        """``frozen`` with a new watermark when nothing it shows changed, else None."""
        if frozen.watch is None:
            return None
        digest, _ = self._product(db, key[0], key[4])
        if digest != frozen.shared:
            return None
        changed, mark = provenance_changed(db, frozen)
        if changed:
            return None
        return replace(frozen, watermark=mark)

    def _recall(self, db: Database, key: Key) -> Frozen | None:
        """The key's snapshot when it passes the change check (then it is served as built).

        Two or three compiled statements on one connection: a scan's first answer
        after a restart waits for them. The product part comes first: it may need
        connections of its own, and a request thread must not hold one while it
        waits for another (40 threads would empty the pool).
        """
        digest, _ = self._product(db, key[0], key[4])
        with dbapi_connection(db.engine) as connection:
            dialect = db.engine.dialect
            found = snapshots.recall(connection, dialect, snapshots.snapshot_key(key))
            if found is None or found.watch is None or found.shared != digest:
                return None
            made = time.monotonic()
            frozen = Frozen(
                found.body, found.item_id, made, found.watch, found.watermark, found.shared
            )
            changed, mark = changed_on(connection, dialect, frozen)
        return None if changed else replace(frozen, watermark=mark)

    def _still_good(self, db: Database, key: Key) -> bool:
        """Keep the entry (and push its next check back) when nothing it shows changed."""
        found = self._entries.get(key)
        if found is None or self.build != self._assemble:
            return False
        frozen = found[1]
        now = time.monotonic()
        if now - frozen.made > self.max_age:
            return False
        checked = self._trusted(db, key, frozen)
        if checked is None:
            return False
        self._store(key, checked, since=now)
        return True

    def _save_later(self, db: Database, key: Key, frozen: Frozen) -> None:
        """Queue ``frozen`` for its snapshot: written ``SAVE_DELAY_S`` later with the others."""
        if not self.snapshots:
            return
        with self._lock:
            first = not self._unsaved
            self._unsaved[key] = (db, frozen)
            if first:
                self._saver = threading.Timer(SAVE_DELAY_S, self._save)
                self._saver.daemon = True
                self._saver.start()

    def _save(self) -> None:
        with self._lock:
            unsaved, self._unsaved = self._unsaved, {}
            self._saver = None
        by_database: dict[Database, list[tuple[str, snapshots.Snapshot]]] = {}
        for key, (db, frozen) in unsaved.items():
            snap = snapshots.Snapshot(
                frozen.body, frozen.item_id, frozen.watch, frozen.watermark, frozen.shared
            )
            by_database.setdefault(db, []).append((snapshots.snapshot_key(key), snap))
        for db, batch in by_database.items():
            try:
                snapshots.save(db, batch)
            except Exception:  # a lost snapshot costs a rebuild, nothing more
                continue

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._refresher is None:
                self._refresher = ThreadPoolExecutor(1, thread_name_prefix="passport-refresh")
            return self._refresher

    def _refresh_later(self, key: Key, db: Database, link: DigitalLink) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
        self._executor().submit(self._refresh, key, db, link)

    def _refresh(self, key: Key, db: Database, link: DigitalLink) -> None:
        try:
            if not self._still_good(db, key):
                # a change seen: the server's prebuilder may have written the new snapshot
                # already (not past max_age: that rebuild is for what no check sees)
                found = self._entries.get(key)
                young = found is not None and time.monotonic() - found[1].made <= self.max_age
                recalled = self._recall(db, key) if self.snapshots and young else None
                if recalled is not None:
                    self._store(key, recalled)
                    return
                built = self.build(db, link, key[3], key[4], key[5])
                self._store(key, built)
                self._save_later(db, key, built)
        except Exception:
            self._entries.pop(key, None)
        finally:
            with self._lock:
                self._refreshing.discard(key)
