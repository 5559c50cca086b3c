"""Passports kept across restarts: the passport cache's slow part, stored in the database.

``passport.passport_cache`` keeps, per process and for up to ``size`` keys, the
slow part of each passport it served (JSON bytes without ``authenticity`` and
``ownership``). Without more, a restart - or an item pushed out of a full cache
- costs the next scan of that item a whole assembly (registry, genealogy, chain
of custody: ~5-25 ms, growing with the item's history), and consumer NFC, many
items each scanned rarely, lives on that path. A snapshot is that same slow part
in the ``passport_snapshot`` table with what its change check needs: the
identifiers its provenance walked, the last event id when it was assembled and
a digest of the product part (and registry context) it was assembled from. The
cache trusts a snapshot only after the same check a due cached passport passes
(``PassportCache._trusted``); otherwise it assembles anew, as before.

Snapshots are written off the request path, in batches: by the cache's
background thread, and ahead of any scan by ``passport.prebuild`` (``mics
passport warm``, the server's prebuilder). Losing one (a crash, a failed write)
only costs a rebuild. Writers in several processes may write one key at once:
the last one wins (an upsert), none fails.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, bindparam, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from mics.db import Database
from mics.passport.store import PassportSnapshotRow
from mics.storage.statements import Statement
from mics.storage.write_gate import write_gate

__all__ = ["Snapshot", "items_watching", "recall", "recall_many", "save", "snapshot_key"]


@dataclass(frozen=True)
class Snapshot:
    """A stored slow part: bytes, its item, watched identifiers, watermark, product digest."""

    body: bytes
    item_id: int | None
    watch: frozenset[str] | None
    watermark: int
    shared: str


def snapshot_key(parts: Iterable[str | None]) -> str:
    """The table key of a cache key (gtin, serial, lot, tier, language, base URL)."""
    text = "\x1f".join("\x00" if part is None else part for part in parts)
    return hashlib.sha256(text.encode()).hexdigest()


_RECALL = Statement(
    select(
        PassportSnapshotRow.body,
        PassportSnapshotRow.item_id,
        PassportSnapshotRow.watch,
        PassportSnapshotRow.watermark,
        PassportSnapshotRow.shared,
    ).where(PassportSnapshotRow.key == bindparam("key"))
)


def recall(connection: Any, dialect: Dialect, key: str) -> Snapshot | None:
    """The snapshot stored under ``key``, unchecked (the caller checks it), or None.

    On a DBAPI connection (``storage.statements``): it runs on a scan's path.
    """
    rows = _RECALL.rows(connection, dialect, {"key": key})
    if not rows:
        return None
    body, item_id, watch, watermark, shared = rows[0]
    watched = None if watch is None else frozenset(json.loads(watch))
    return Snapshot(bytes(body), item_id, watched, int(watermark), shared)


def recall_many(db: Database, keys: Sequence[str]) -> dict[str, Snapshot]:
    """The snapshots stored under ``keys`` (those there are), unchecked, by key."""
    query = select(
        PassportSnapshotRow.key,
        PassportSnapshotRow.body,
        PassportSnapshotRow.item_id,
        PassportSnapshotRow.watch,
        PassportSnapshotRow.watermark,
        PassportSnapshotRow.shared,
    ).where(PassportSnapshotRow.key.in_(list(keys)))
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        key: Snapshot(
            bytes(body),
            item_id,
            None if watch is None else frozenset(json.loads(watch)),
            int(watermark),
            shared,
        )
        for key, body, item_id, watch, watermark, shared in rows
    }


def items_watching(db: Database, identifiers: Sequence[str], chunk: int = 50) -> set[int]:
    """The items with a snapshot that watches any of ``identifiers`` (a new event naming
    one may have made it stale). A scan of the ``watch`` text (JSON lists), ``chunk``
    identifiers a statement: background work (``passport.prebuilder``), never a scan's."""
    found: set[int] = set()
    with db.engine.connect() as conn:
        for start in range(0, len(identifiers), chunk):
            named = identifiers[start : start + chunk]
            query = (
                select(PassportSnapshotRow.item_id)
                .where(PassportSnapshotRow.item_id.is_not(None))
                .where(
                    or_(
                        *(
                            PassportSnapshotRow.watch.contains(json.dumps(epc), autoescape=True)
                            for epc in named
                        )
                    )
                )
                .distinct()
            )
            found.update(item for item in conn.scalars(query) if item is not None)
    return found


def save(db: Database, snapshots: Sequence[tuple[str, Snapshot]]) -> None:
    """Store (replace) ``snapshots`` in one transaction, queued at the SQLite write gate."""
    if not snapshots:
        return
    latest = dict(snapshots)  # the last one of a key wins
    now = datetime.now(UTC)
    rows = [
        {
            "key": key,
            "item_id": snap.item_id,
            "body": snap.body,
            "watch": None if snap.watch is None else json.dumps(sorted(snap.watch)),
            "watermark": snap.watermark,
            "shared": snap.shared,
            "made_at": now,
        }
        for key, snap in latest.items()
    ]
    with write_gate(db)(), db.engine.begin() as conn:
        upsert = _upsert(conn.dialect.name)
        if upsert is not None:
            conn.execute(upsert, rows)
            return
        conn.execute(delete(PassportSnapshotRow).where(PassportSnapshotRow.key.in_(list(latest))))
        conn.execute(insert(PassportSnapshotRow), rows)


_REPLACED = ("item_id", "body", "watch", "watermark", "shared", "made_at")


def _upsert(dialect: str) -> Insert | None:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` on SQLite and PostgreSQL: two processes
    writing one key at once (a prebuilder and a scan's cache) both succeed, where a
    delete and an insert would fail the second one's batch on the primary key."""
    if dialect == "sqlite":
        lite = sqlite.insert(PassportSnapshotRow)
        return lite.on_conflict_do_update(
            index_elements=[PassportSnapshotRow.key],
            set_={name: lite.excluded[name] for name in _REPLACED},
        )
    if dialect == "postgresql":
        pg = postgresql.insert(PassportSnapshotRow)
        return pg.on_conflict_do_update(
            index_elements=[PassportSnapshotRow.key],
            set_={name: pg.excluded[name] for name in _REPLACED},
        )
    return None
