"""Passports assembled before anyone scans: snapshots of tagged items written ahead.

A scan whose passport the server holds in memory, or finds in a checked
snapshot (``passport.snapshots``), costs about a warm scan; a scan that has to
assemble the passport (genealogy walk, chain of custody, custody claims: ~24
statements, 23-33 ms in process) costs 8-24x one (``src/mics/passport/BENCH.md``
round 6). Consumer NFC - many items, each scanned rarely - meets that assembly
on an item's very first scan, unless its snapshot was written before: that is
what this module does, for the keys a consumer's scan looks up (the ``public``
tier, each passport language, the instance's base URL, no lot in the URL).

``warm`` writes the snapshot of every tagged item (``every``: every item) whose
snapshot is missing or stale - stale by the very check a scan applies before it
trusts one (``PassportCache._recall``: the product part's digest and no new
provenance event naming what the walk met) - in batches, one transaction each.
Each item's chain of custody is walked once for all its languages
(``view.assemble_each``). Run again, it writes nothing. ``mics passport warm``
runs it; the server's ``passport.prebuilder`` runs it in the background after a
tag is enrolled or events are captured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select

from mics.db import Database
from mics.errors import NotFound
from mics.passport import snapshots
from mics.passport.digital_link import DigitalLink
from mics.passport.languages import LANGUAGES, language_code
from mics.passport.passport_cache import Frozen, changed_on, frozen_of, shared_part
from mics.passport.store import NfcTagRow
from mics.passport.view import assemble_each, find_subject
from mics.registry import domain
from mics.registry import reads as registry
from mics.storage.statements import dbapi_connection
from mics.trace import reads as trace_reads

__all__ = ["BATCH", "TIER", "Target", "Warmed", "keys_of", "targets", "warm"]

TIER = "public"  # a consumer's phone carries no API key
BATCH = 100  # items a transaction
FAILURES_SHOWN = 5

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """An item whose passport a scan may ask for: its id, GTIN-14 and serial."""

    item_id: int
    gtin: str
    serial: str


@dataclass(frozen=True)
class Warmed:
    """What a ``warm`` pass did: items looked at, snapshots written and found fresh, items
    that could not be assembled (the first few reasons), and how long it took."""

    items: int
    written: int
    fresh: int
    failed: int
    failures: tuple[str, ...]
    seconds: float

    def summary(self) -> str:
        rate = self.items / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.items} items: {self.written} snapshots written, {self.fresh} fresh, "
            f"{self.failed} items failed, in {self.seconds:.1f} s ({rate:.0f} items/s)"
        )


def keys_of(target: Target, lang: str, base_url: str) -> tuple[str | None, ...]:
    """The cache key a consumer's scan of ``target`` in ``lang`` looks up (``/01/G/21/S``)."""
    return (target.gtin, target.serial, None, TIER, lang, base_url)


def _selection(
    *,
    tagged: bool,
    gtin: str | None,
    item_ids: Sequence[int] | None,
    serials: Sequence[str] | None = None,
) -> tuple[registry.ItemKeys, list[ColumnElement[bool]]]:
    keys = registry.item_keys()
    where: list[ColumnElement[bool]] = []
    if gtin is not None:
        where.append(keys.gtin == gtin)
    if serials is not None:
        where.append(keys.serial.in_(list(serials)))
    if item_ids is not None:
        where.append(keys.id.in_(list(item_ids)))
    if tagged:
        tag = NfcTagRow.__table__
        where.append(keys.id.in_(select(tag.c.item_id)))
    return keys, where


def targets(
    db: Database,
    *,
    tagged: bool = True,
    gtin: str | None = None,
    item_ids: Sequence[int] | None = None,
    serials: Sequence[str] | None = None,
    after: int = 0,
    limit: int = BATCH,
) -> list[Target]:
    """Up to ``limit`` items after item id ``after``, in id order: tagged ones (or all),
    of one product (``gtin``, GTIN-14) or all, among ``item_ids`` (and ``serials``) or all."""
    keys, where = _selection(tagged=tagged, gtin=gtin, item_ids=item_ids, serials=serials)
    query = (
        select(keys.id, keys.gtin, keys.serial)
        .select_from(keys.source)
        .where(keys.id > after, *where)
        .order_by(keys.id)
        .limit(limit)
    )
    with db.engine.connect() as conn:
        return [Target(int(i), str(g), str(s)) for i, g, s in conn.execute(query)]


def count(
    db: Database,
    *,
    tagged: bool = True,
    gtin: str | None = None,
    item_ids: Sequence[int] | None = None,
) -> int:
    """How many items ``targets`` would list, all pages together."""
    keys, where = _selection(tagged=tagged, gtin=gtin, item_ids=item_ids)
    query = select(func.count()).select_from(keys.source).where(*where)
    with db.engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def product_gtin(db: Database, gtin: str) -> str:
    """``gtin`` as GTIN-14 when a product has it; InvalidInput or NotFound naming it."""
    normal = domain.normalise_gtin(gtin, field="--gtin")
    with db.read() as s:
        if registry.product_by_gtin(s, normal) is None:
            raise NotFound(
                f"no product has GTIN {normal}; `mics registry list products` shows them",
                field="--gtin",
                value=gtin,
            )
    return normal


def warm(
    db: Database,
    base_url: str,
    *,
    gtin: str | None = None,
    every: bool = False,
    item_ids: Iterable[int] | None = None,
    languages: Iterable[str] = LANGUAGES,
    batch: int = BATCH,
    missing_only: bool = False,
    progress: Callable[[int, int], None] | None = None,
    pause: Callable[[], None] | None = None,
) -> Warmed:
    """Write the missing or stale snapshots of tagged items (``every``: of every item).

    ``gtin`` keeps to one product, ``item_ids`` to those items; ``missing_only``
    skips the change check of stored snapshots (a sweep at a server's start).
    ``progress(done, total)`` is called after each batch, ``pause()`` before each
    batch and each assembly (the server's prebuilder yields to requests there, and
    may raise to stop). One transaction a batch: what a batch wrote stays if a later one fails.
    """
    started = time.perf_counter()
    base = base_url.rstrip("/")
    langs = tuple(dict.fromkeys(language_code(lang) for lang in languages))
    product = None if gtin is None else product_gtin(db, gtin)
    chosen = None if item_ids is None else sorted(set(item_ids))
    total = count(db, tagged=not every, gtin=product, item_ids=chosen)
    pass_ = _Pass(db, base, langs, missing_only, pause)
    after, done = 0, 0
    while True:
        if pause is not None:  # even the reads of a batch wait for a quiet moment
            pause()
        page = targets(
            db, tagged=not every, gtin=product, item_ids=chosen, after=after, limit=batch
        )
        if not page:
            break
        after = page[-1].item_id
        snapshots.save(db, pass_.batch(page))
        done += len(page)
        if progress is not None:
            progress(done, total)
    seconds = time.perf_counter() - started
    failures = tuple(pass_.failures[:FAILURES_SHOWN])
    return Warmed(done, pass_.written, pass_.fresh, len(pass_.failures), failures, seconds)


class _Pass:
    """One ``warm`` pass: the product parts it computed, and its tallies."""

    def __init__(
        self,
        db: Database,
        base_url: str,
        langs: tuple[str, ...],
        missing_only: bool,
        pause: Callable[[], None] | None,
    ) -> None:
        self.db, self.base_url, self.langs = db, base_url, langs
        self.missing_only, self.pause = missing_only, pause
        self.parts: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        self.written = self.fresh = 0
        self.failures: list[str] = []

    def part(self, gtin: str, lang: str) -> tuple[str, dict[str, Any]]:
        found = self.parts.get((gtin, lang))
        if found is None:
            found = self.parts[(gtin, lang)] = shared_part(self.db, gtin, lang)
        return found

    def batch(self, page: Sequence[Target]) -> list[tuple[str, snapshots.Snapshot]]:
        """The snapshots of ``page`` to write: those missing or stale, assembled now."""
        keys = {
            (t.item_id, lang): snapshots.snapshot_key(keys_of(t, lang, self.base_url))
            for t in page
            for lang in self.langs
        }
        stored = snapshots.recall_many(self.db, list(keys.values()))
        due = {t.item_id: self._stale(t, keys, stored) for t in page}
        out: list[tuple[str, snapshots.Snapshot]] = []
        for target in page:
            stale = due[target.item_id]
            self.fresh += len(self.langs) - len(stale)
            if not stale:
                continue
            if self.pause is not None:
                self.pause()
            try:
                built = self._assemble(target, stale)
            except Exception as error:  # one bad item must not stop the others
                _log.warning("passport prebuild: item %s failed: %s", target.item_id, error)
                self.failures.append(
                    f"item {target.item_id} ({target.gtin}/{target.serial}): {error}"
                )
                continue
            for lang, frozen in built.items():
                out.append((keys[(target.item_id, lang)], _snapshot(frozen)))
        self.written += len(out)
        return out

    def _stale(
        self,
        target: Target,
        keys: dict[tuple[int, str], str],
        stored: dict[str, snapshots.Snapshot],
    ) -> list[str]:
        """The languages of ``target`` whose snapshot is missing or would not be trusted."""
        stale = []
        for lang in self.langs:
            found = stored.get(keys[(target.item_id, lang)])
            checked = found is not None and (
                self.missing_only or self._trusted(target, lang, found)
            )
            if not checked:
                stale.append(lang)
        return stale

    def _trusted(self, target: Target, lang: str, found: snapshots.Snapshot) -> bool:
        """The check a scan applies before it serves a snapshot (``PassportCache._recall``)."""
        if found.watch is None:
            return False
        try:
            digest, _ = self.part(target.gtin, lang)
        except Exception:  # the product part fails: the assembly will say why
            return False
        if found.shared != digest:
            return False
        frozen = Frozen(found.body, found.item_id, 0.0, found.watch, found.watermark, found.shared)
        with dbapi_connection(self.db.engine) as connection:
            changed, _ = changed_on(connection, self.db.engine.dialect, frozen)
        return not changed

    def _assemble(self, target: Target, langs: Sequence[str]) -> dict[str, Frozen]:
        """``freeze`` in each of ``langs`` from one walk (``view.assemble_each``)."""
        made = time.monotonic()
        with self.db.engine.connect() as conn:  # read first: an event stored meanwhile shows
            watermark = trace_reads.last_event_id(conn)
        link = DigitalLink(gtin=target.gtin, serial=target.serial)
        subject = find_subject(self.db, link.gtin, link.serial, link.lot)
        parts = {lang: self.part(target.gtin, lang) for lang in langs}
        slow = assemble_each(
            self.db,
            subject,
            {lang: part for lang, (_, part) in parts.items()},
            base_url=self.base_url,
        )
        return {
            lang: frozen_of(assembled, TIER, made, watermark, parts[lang][0])
            for lang, assembled in slow.items()
        }


def _snapshot(frozen: Frozen) -> snapshots.Snapshot:
    return snapshots.Snapshot(
        frozen.body, frozen.item_id, frozen.watch, frozen.watermark, frozen.shared
    )
