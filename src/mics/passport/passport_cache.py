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
reused for ``ttl`` to 1.5 ``ttl`` seconds (spread at random), then rebuilt on a
background thread while the old bytes keep being served
(stale-while-revalidate), so no request waits on a rebuild once an item has
been assembled once; a new supply-chain event shows within 1.5 ``ttl`` plus
one rebuild. ``clear()`` drops everything (after a registry
edit, say). Each worker process keeps its own cache: nothing in it needs to be
shared, because the volatile parts come from the database on every request.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from mics.db import Database
from mics.passport import access
from mics.passport.digital_link import DigitalLink
from mics.passport.ownership_store import OwnershipRow, PassportItemRow
from mics.passport.store import TagScanRow
from mics.passport.view import (
    authenticity_block,
    find_subject,
    ownership_block,
    passport_json,
)

VOLATILE = ("authenticity", "ownership")
Key = tuple[str, str | None, str | None, str, str, str]


def compact(value: Any) -> bytes:
    """JSON without spaces (what ``JSONResponse`` writes), as UTF-8 bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Frozen:
    """The slow part of one passport: JSON bytes of an object, volatile parts left out."""

    body: bytes
    item_id: int | None
    made: float  # time.monotonic() when assembled


def freeze(db: Database, link: DigitalLink, tier: str, lang: str, base_url: str) -> Frozen:
    """Assemble the passport (slow) and keep it as bytes without its volatile parts."""
    made = time.monotonic()
    subject = find_subject(db, link.gtin, link.serial, link.lot)
    full = passport_json(
        db, link.gtin, link.serial, link.lot, tier=tier, lang=lang, base_url=base_url
    )
    slow = {key: value for key, value in full.items() if key not in VOLATILE}
    item_id = subject.item.id if subject.item is not None else None
    return Frozen(compact(slow), item_id, made)


@cache
def visible_keys(tier: str) -> dict[str, frozenset[str]]:
    """Which keys of each volatile part ``tier`` may read, by the ``access`` rules."""
    template = {
        "authenticity": authenticity_block("authentic", datetime.now(UTC), 1),
        "ownership": ownership_block(
            {
                "owners": 1,
                "since": "x",
                "owned_since": ["x"],
                "lost_or_stolen": True,
                "status": "lost",
                "claimable": False,
            }
        ),
    }
    kept = access.filter_to_tier(template, tier)
    return {part: frozenset(kept.get(part, {})) for part in VOLATILE}


def splice(frozen: Frozen, tier: str, parts: dict[str, dict[str, Any]]) -> bytes:
    """The whole passport: the frozen bytes with the volatile ``parts`` added, filtered."""
    keys = visible_keys(tier)
    tail = b""
    for name in VOLATILE:
        kept = {k: v for k, v in parts[name].items() if k in keys[name]}
        if kept:
            tail += b',"' + name.encode() + b'":' + compact(kept)
    return frozen.body[:-1] + tail + b"}"


# --- the volatile parts, read fresh ------------------------------------------------------------

_LAST_SCAN = (
    select(TagScanRow.verdict, TagScanRow.scanned_at, TagScanRow.counter)
    .where(TagScanRow.item_id == bindparam("item"))
    .order_by(TagScanRow.scanned_at.desc(), TagScanRow.id.desc())
    .limit(1)
)
# The owner's report and every ownership period in one statement: periods only
# exist for an item with a packaging secret (``ownership.claim`` needs one).
_OWNERSHIP = (
    select(PassportItemRow.status, OwnershipRow.since, OwnershipRow.until)
    .select_from(PassportItemRow)
    .outerjoin(OwnershipRow, OwnershipRow.item_id == PassportItemRow.item_id)
    .where(PassportItemRow.item_id == bindparam("item"))
    .order_by(OwnershipRow.since, OwnershipRow.id)
)
UNKNOWN = {"verdict": None, "checkedAt": None, "counter": None}


def _stamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ownership_now(conn: Connection, item_id: int) -> dict[str, Any]:
    """``ownership`` as ``ownership.item_status`` would give it, in one indexed read."""
    rows = conn.execute(_OWNERSHIP, {"item": item_id}).all()
    secret = bool(rows)  # the item has a passport_item row: a packaging secret
    status = rows[0].status if rows else None
    periods = [(row.since, row.until) for row in rows if row.since is not None]
    current = [since for since, until in periods if until is None]
    return ownership_block(
        {
            "owners": len(periods),
            "since": _stamp(current[-1]) if current else None,
            "owned_since": [_stamp(since) for since, _ in periods],
            "lost_or_stolen": bool(status),
            "status": status,
            "claimable": secret and not periods,
        }
    )


def volatile_parts(
    db: Database, item_id: int | None, authenticity: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Fresh ``authenticity`` (unless given: a scan answer knows its own) and ``ownership``."""
    if item_id is None:
        return {"authenticity": dict(UNKNOWN), "ownership": ownership_block(None)}
    with db.engine.connect() as conn:
        if authenticity is None:
            last = conn.execute(_LAST_SCAN, {"item": item_id}).first()
            authenticity = dict(UNKNOWN) if last is None else authenticity_block(*last)
        return {"authenticity": authenticity, "ownership": ownership_now(conn, item_id)}


# --- the cache ---------------------------------------------------------------------------------


class PassportCache:
    """Frozen passports per (gtin, serial, lot, tier, lang, base URL), refreshed after ``ttl``."""

    def __init__(
        self,
        ttl: float = 30.0,
        size: int = 10_000,
        build: Callable[[Database, DigitalLink, str, str, str], Frozen] = freeze,
    ) -> None:
        self.ttl, self.size, self.build = ttl, size, build
        self._entries: dict[Key, tuple[float, Frozen]] = {}  # (refresh after, passport)
        self._refreshing: set[Key] = set()
        self._lock = threading.Lock()
        self._refresher: ThreadPoolExecutor | None = None

    def frozen(
        self, db: Database, link: DigitalLink, tier: str, lang: str, base_url: str
    ) -> Frozen:
        """The slow part: cached, or assembled now when this key was never seen."""
        key: Key = (link.gtin, link.serial, link.lot, tier, lang, base_url)
        found = self._entries.get(key)
        if found is None:
            return self._store(key, self.build(db, link, tier, lang, base_url))
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
    ) -> bytes:
        """The passport JSON, with the verdict and ownership as they are now."""
        frozen = self.frozen(db, link, tier, lang, base_url)
        return splice(frozen, tier, volatile_parts(db, frozen.item_id, authenticity))

    def clear(self) -> None:
        self._entries.clear()

    def close(self) -> None:
        """Wait for the rebuild under way, if any (a later one starts a new thread)."""
        with self._lock:
            refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.shutdown(wait=True)

    def _store(self, key: Key, frozen: Frozen) -> Frozen:
        if len(self._entries) >= self.size and key not in self._entries:
            self._entries.clear()
        # Up to half a ttl more, at random: passports assembled together (a warm-up,
        # a label run) must not all fall due, and be rebuilt, in the same second.
        due = frozen.made + self.ttl * (1.0 + random.random() / 2)
        self._entries[key] = (due, frozen)
        return frozen

    def _refresh_later(self, key: Key, db: Database, link: DigitalLink) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)
            if self._refresher is None:
                self._refresher = ThreadPoolExecutor(1, thread_name_prefix="passport-refresh")
        self._refresher.submit(self._refresh, key, db, link)

    def _refresh(self, key: Key, db: Database, link: DigitalLink) -> None:
        try:
            self._store(key, self.build(db, link, key[3], key[4], key[5]))
        except Exception:
            self._entries.pop(key, None)
        finally:
            with self._lock:
                self._refreshing.discard(key)
