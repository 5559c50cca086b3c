"""Audit: rebuild the log from the stored events and compare it with what was signed.

For every leaf, in order, in chunks (a million events are never loaded at once):

1. the leaf row exists and hashes (RFC 9162 §2.1.1) to the stored level-0 node;
2. its event row exists, and the CBV 2.0 §8.9 hash of the stored body (with
   the ``@context`` of its capture job), its record time and partner rebuild
   the leaf bytes exactly (``mics-leaf/v1``, :mod:`mics.ledger.leaf`);
3. events come in the leaves' order (``epcis_event.id`` increases);
4. the tree rebuilt from the leaves has the stored perfect nodes, and at every
   stored checkpoint size the root the checkpoint signed (each checkpoint's
   signature is checked with the log's key: c2sp.org/tlog-checkpoint).

Then no event may be left without a leaf. The first disagreement is named as a
:class:`Finding` of one kind:

- ``modified``: an event's stored fields no longer give its logged leaf (or the
  rebuilt tree misses a signed root: leaves were rewritten together with nodes);
- ``deleted``: a logged leaf or its event is gone (or the log is shorter than a
  signed checkpoint);
- ``inserted``: an event row that the log never recorded;
- ``reordered``: an event found at another position than the log recorded it;
- ``leaf`` / ``node`` / ``checkpoint`` / ``head``: a log row itself was altered
  (a wrong hash, or a value of the wrong type or length: the finding names the
  table, the row, the column and what it holds, :mod:`mics.ledger.store.rows`);
- ``unreadable``: stored rows of a shape no check foresaw (named, never a traceback).

A changed event column (a time that is not a time, a body that is not a JSON
object) is ``modified``, named the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import MicsError, TamperDetected
from mics.ledger import merkle
from mics.ledger.note import Verifier, open_checkpoint
from mics.ledger.store import reads
from mics.ledger.store.rows import BadValue, Reader, raw
from mics.trace import audit_events
from mics.trace.audit_events import (
    EVENT_COLUMNS,
    StoredEvent,
    index_disagreement,
    read_event,
    rebuild,
)
from mics.trace.store import EventRow

CHUNK = 10_000
KINDS = (
    "modified",
    "deleted",
    "inserted",
    "reordered",
    "leaf",
    "node",
    "checkpoint",
    "head",
    "unreadable",
)


@dataclass(frozen=True)
class Finding:
    """The first tampering found: its kind, where, and what disagreed."""

    kind: str
    leaf_index: int | None
    event_id: str | None
    detail: str


@dataclass(frozen=True)
class AuditReport:
    """What the audit checked and the first tampering it found, if any."""

    tree_size: int
    events: int
    checkpoints: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None

    def as_json(self) -> dict[str, Any]:
        found = self.finding
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "finding": None if found is None else found.__dict__,
        }

    def raise_for_tamper(self) -> AuditReport:
        """Raise ``TamperDetected`` naming the finding; else return ``self``."""
        found = self.finding
        if found is not None:
            where = f" (leaf {found.leaf_index})" if found.leaf_index is not None else ""
            event = f"event {found.event_id}" if found.event_id else "the log"
            raise TamperDetected(
                f"{found.kind}: {event}{where}: {found.detail}",
                kind=found.kind,
                leaf_index=found.leaf_index,
                event_id=found.event_id,
            )
        return self


class _Tampered(MicsError):
    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.detail)
        self.finding = finding


def audit(db: Database, verifier: Verifier | str, chunk: int = CHUNK) -> AuditReport:
    """Recompute every leaf and the tree; check them against every stored checkpoint."""
    key = Verifier.parse(verifier) if isinstance(verifier, str) else verifier
    counts = {"events": 0, "checkpoints": 0}
    tree_size = 0
    with db.read() as s:
        read = Reader(s.get_bind().dialect)
        try:
            tree_size = _tree_size(s, read)
            _audit(s, read, key, tree_size, chunk, counts)
        except _Tampered as tampered:
            return AuditReport(tree_size, counts["events"], counts["checkpoints"], tampered.finding)
        except (TypeError, ValueError, AttributeError, LookupError, RecursionError) as error:
            # A shape of stored data no check above foresaw: still a finding, never a traceback.
            at = counts["events"]
            finding = Finding(
                "unreadable",
                at if at < tree_size else None,
                None,
                f"the stored rows of leaf {at} could not be checked: "
                f"{type(error).__name__}: {str(error)[:200]}",
            )
            return AuditReport(tree_size, counts["events"], counts["checkpoints"], finding)
    return AuditReport(tree_size, counts["events"], counts["checkpoints"], None)


def _tree_size(s: Session, read: Reader) -> int:
    try:
        return reads.head_size(s, read)
    except BadValue as bad:
        raise _Tampered(Finding("head", None, None, str(bad))) from None


def _audit(
    s: Session, read: Reader, key: Verifier, tree_size: int, chunk: int, counts: dict[str, int]
) -> None:
    checkpoints = _checkpoints(s, read, key, tree_size)
    pending = next(checkpoints, None)
    edge = merkle.CompactRange()
    contexts: dict[str, Any] = {}
    previous_event = 0
    if pending is not None and pending[0] == 0:
        _check_root(pending, edge)
        counts["checkpoints"] += 1
        pending = next(checkpoints, None)
    for start in range(0, tree_size, chunk):
        stop = min(start + chunk, tree_size)
        rows = _leaves(s, start, stop)
        nodes = _StoredNodes(read, reads.nodes(s, start, stop))
        indexed = audit_events.indexed(s, [row[3] for row in rows.values() if row[3] is not None])
        for index in range(start, stop):
            found = rows.get(index)
            logged = nodes.get(0, index, index)
            if found is None:
                committed = logged.hex() if logged else "unknown"
                raise _Tampered(
                    Finding(
                        "deleted",
                        index,
                        None,
                        f"leaf {index} and its event are missing; the log committed to leaf "
                        f"hash {committed}",
                    )
                )
            data = _leaf(read, index, found)
            if logged != merkle.leaf_hash(data):
                raise _Tampered(
                    Finding(
                        "leaf",
                        index,
                        None,
                        f"the stored leaf hashes to {merkle.leaf_hash(data).hex()}, the "
                        f"tree node holds {logged.hex() if logged else 'nothing'}",
                    )
                )
            if found[3] is None:
                raise _Tampered(
                    Finding(
                        "deleted",
                        index,
                        None,
                        f"event row {found[2]} of leaf {index} is missing",
                    )
                )
            row, event = _event(read, index, found)
            try:
                rebuilt = rebuild(s, read, row, event, contexts)
            except BadValue as bad:
                raise _Tampered(Finding("modified", index, row.event_id, str(bad))) from None
            if rebuilt != data:
                raise _Tampered(_mismatch(s, index, row, rebuilt))
            disagreement = index_disagreement(row, event, indexed.get(row.id, (set(), set())))
            if disagreement:
                raise _Tampered(Finding("modified", index, row.event_id, disagreement))
            if row.id <= previous_event:
                raise _Tampered(
                    Finding(
                        "reordered",
                        index,
                        row.event_id,
                        f"event row {row.id} comes after event row {previous_event} in the "
                        "log but before it in the event table",
                    )
                )
            previous_event = row.id
            counts["events"] += 1
            for level, node_index, value in edge.append(merkle.leaf_hash(data)):
                stored = nodes.get(level, node_index, index)
                if stored != value:
                    raise _Tampered(
                        Finding(
                            "node",
                            index,
                            row.event_id,
                            f"tree node level {level} index {node_index} should be "
                            f"{value.hex()}, the store holds {_hex(stored)}",
                        )
                    )
            while pending is not None and pending[0] == edge.size:
                _check_root(pending, edge)
                counts["checkpoints"] += 1
                pending = next(checkpoints, None)
    orphan = _unlogged_event(s, chunk)
    if orphan is not None:
        raise _Tampered(
            Finding(
                "inserted",
                None,
                orphan.event_id,
                f"event row {orphan.id} has no leaf in the log: it was never logged",
            )
        )


def _leaves(s: Session, start: int, stop: int) -> dict[int, tuple[Any, ...]]:
    """Leaves ``start..stop-1`` by index: ``(index, data, event key, *event columns)``, raw.

    The log's rows come from its read API (:mod:`mics.ledger.store.reads`), the
    event rows (``EVENT_COLUMNS``, ``rows.raw``) from trace's table: all ``None``
    when the leaf's key names no event row.
    """
    leaves = reads.leaves(s, start, stop)
    keys = [leaf.key for leaf in leaves.values() if isinstance(leaf.key, int)]
    events: dict[object, tuple[Any, ...]] = {}
    for first in range(0, len(keys), reads.KEYS_PER_QUERY):
        part = keys[first : first + reads.KEYS_PER_QUERY]
        query = select(*(raw(c) for c in EVENT_COLUMNS)).where(EventRow.id.in_(part))
        events.update((row[0], tuple(row)) for row in s.execute(query))
    missing = (None,) * len(EVENT_COLUMNS)
    return {
        index: (index, leaf.data, leaf.key, *events.get(leaf.key, missing))
        for index, leaf in leaves.items()
    }


def _unlogged_event(s: Session, chunk: int) -> Any:
    """The first event row (by id) that has no leaf in the log, or ``None``."""
    last = 0
    while True:
        batch = s.execute(
            select(EventRow.id, EventRow.event_id)
            .where(EventRow.id > last)
            .order_by(EventRow.id)
            .limit(chunk)
        ).all()
        if not batch:
            return None
        logged = reads.logged_keys(s, [row.id for row in batch])
        for row in batch:
            if row.id not in logged:
                return row
        last = batch[-1].id


def _leaf(read: Reader, index: int, found: Any) -> bytes:
    """The leaf's bytes, which must be a ``mics-leaf/v1`` leaf; else a ``leaf`` finding."""
    try:
        return reads.leaf_bytes(read, reads.StoredLeaf(index, found[1], found[2]))
    except BadValue as bad:
        raise _Tampered(Finding("leaf", index, None, str(bad))) from None


def _event(read: Reader, index: int, found: Any) -> tuple[StoredEvent, dict[str, Any]]:
    """The event row's values and its parsed body; else a ``modified`` finding naming them."""
    try:
        return read_event(read, tuple(found[3:]))
    except BadValue as bad:
        event_id = found[4] if isinstance(found[4], str) else None
        raise _Tampered(Finding("modified", index, event_id, str(bad))) from None


class _StoredNodes:
    """The chunk's stored tree nodes, each checked (32 bytes) when the audit first needs it."""

    def __init__(self, read: Reader, stored: dict[tuple[int, int], object]) -> None:
        self._read, self._stored = read, stored

    def get(self, level: int, index: int, leaf: int) -> bytes | None:
        value = self._stored.get((level, index))
        if value is None:
            return None
        try:
            return reads.node_digest(self._read, value, (level, index))
        except BadValue as bad:
            raise _Tampered(Finding("node", leaf, None, str(bad))) from None


def _checkpoints(
    s: Session, read: Reader, key: Verifier, tree_size: int
) -> Iterator[tuple[int, bytes]]:
    """Stored checkpoints by size, each signature checked; sizes beyond the log are deletions."""
    last = -1
    while True:
        batch = reads.checkpoints_after(s, last)
        if not batch:
            return
        for stored in batch:
            size = stored.size
            try:
                root, note = reads.checkpoint_values(read, stored)
            except BadValue as bad:
                raise _Tampered(Finding("checkpoint", None, None, str(bad))) from None
            try:
                signed = open_checkpoint(note, key)
            except MicsError as error:
                raise _Tampered(
                    Finding("checkpoint", None, None, f"checkpoint {size}: {error}")
                ) from None
            if (signed.size, signed.root_hash) != (size, root):
                raise _Tampered(
                    Finding(
                        "checkpoint",
                        None,
                        None,
                        f"checkpoint row {size} says root {root.hex()}, its signed note says "
                        f"size {signed.size} root {signed.root_hash.hex()}",
                    )
                )
            if size > tree_size:
                raise _Tampered(
                    Finding(
                        "deleted",
                        tree_size,
                        None,
                        f"the log has {tree_size} leaves but a checkpoint signed {size}",
                    )
                )
            yield size, root
            last = size


def _check_root(pending: tuple[int, bytes], edge: merkle.CompactRange) -> None:
    size, signed = pending
    rebuilt = edge.root()
    if rebuilt != signed:
        raise _Tampered(
            Finding(
                "modified",
                None,
                None,
                f"the first {size} leaves hash to {rebuilt.hex()}, the checkpoint signed "
                f"{signed.hex()}: leaves before {size} were rewritten with their tree nodes",
            )
        )


def _mismatch(s: Session, index: int, row: StoredEvent, rebuilt: bytes | None) -> Finding:
    elsewhere = None
    if rebuilt is not None:
        elsewhere = reads.leaf_index_holding(s, rebuilt)
    if elsewhere is not None:
        return Finding(
            "reordered",
            index,
            row.event_id,
            f"the event now at leaf {index}'s place (event row {row.id}) was logged at leaf "
            f"{elsewhere}",
        )
    return Finding(
        "modified",
        index,
        row.event_id,
        f"event row {row.id} no longer gives its logged leaf: the event body, record time or "
        "partner was changed",
    )


def _hex(value: bytes | None) -> str:
    return value.hex() if value is not None else "nothing"
