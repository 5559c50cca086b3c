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
- ``leaf`` / ``node`` / ``checkpoint``: a log row itself was altered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import MicsError, TamperDetected
from mics.ledger import merkle
from mics.ledger.leaf import leaf_data
from mics.ledger.note import Verifier, open_checkpoint
from mics.ledger.store import CheckpointRow, HeadRow, LeafRow, NodeRow
from mics.trace import cbv
from mics.trace.epcs import biz_transactions, identifiers
from mics.trace.event_hash import event_hash
from mics.trace.store import CaptureJobRow, EventBizTransactionRow, EventEpcRow, EventRow
from mics.trace.validate import parse_timestamp

CHUNK = 10_000
KINDS = ("modified", "deleted", "inserted", "reordered", "leaf", "node", "checkpoint")


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
    with db.read() as s:
        tree_size = s.scalar(select(HeadRow.size).where(HeadRow.id == 1)) or 0
        try:
            _audit(s, key, tree_size, chunk, counts)
        except _Tampered as tampered:
            return AuditReport(tree_size, counts["events"], counts["checkpoints"], tampered.finding)
    return AuditReport(tree_size, counts["events"], counts["checkpoints"], None)


def _audit(s: Session, key: Verifier, tree_size: int, chunk: int, counts: dict[str, int]) -> None:
    checkpoints = _checkpoints(s, key, tree_size)
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
        rows = {row.idx: row for row in s.execute(_leaves(start, stop))}
        nodes = _stored_nodes(s, start, stop)
        indexed = _indexed(s, [row.id for row in rows.values() if row.id is not None])
        for index in range(start, stop):
            row = rows.get(index)
            logged = nodes.get((0, index))
            if row is None:
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
            if logged != merkle.leaf_hash(row.data):
                raise _Tampered(
                    Finding(
                        "leaf",
                        index,
                        row.event_id,
                        f"the stored leaf hashes to {merkle.leaf_hash(row.data).hex()}, the "
                        f"tree node holds {logged.hex() if logged else 'nothing'}",
                    )
                )
            if row.id is None:
                raise _Tampered(
                    Finding(
                        "deleted",
                        index,
                        None,
                        f"event row {row.event} of leaf {index} is missing",
                    )
                )
            rebuilt = _rebuild(s, row, contexts)
            if rebuilt != row.data:
                raise _Tampered(_mismatch(s, index, row, rebuilt))
            disagreement = _index_disagreement(row, indexed.get(row.id, (set(), set())))
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
            for level, node_index, value in edge.append(merkle.leaf_hash(row.data)):
                if nodes.get((level, node_index)) != value:
                    raise _Tampered(
                        Finding(
                            "node",
                            index,
                            row.event_id,
                            f"tree node level {level} index {node_index} should be "
                            f"{value.hex()}, the store holds "
                            f"{_hex(nodes.get((level, node_index)))}",
                        )
                    )
            while pending is not None and pending[0] == edge.size:
                _check_root(pending, edge)
                counts["checkpoints"] += 1
                pending = next(checkpoints, None)
    orphan = s.execute(
        select(EventRow.id, EventRow.event_id)
        .outerjoin(LeafRow, LeafRow.event == EventRow.id)
        .where(LeafRow.idx.is_(None))
        .order_by(EventRow.id)
        .limit(1)
    ).first()
    if orphan is not None:
        raise _Tampered(
            Finding(
                "inserted",
                None,
                orphan.event_id,
                f"event row {orphan.id} has no leaf in the log: it was never logged",
            )
        )


def _leaves(start: int, stop: int) -> Any:
    return (
        select(
            LeafRow.idx,
            LeafRow.data,
            LeafRow.event,
            EventRow.id,
            EventRow.event_id,
            EventRow.body,
            EventRow.record_time,
            EventRow.partner_id,
            EventRow.capture_id,
            EventRow.event_type,
            EventRow.event_time,
            EventRow.action,
            EventRow.biz_step,
            EventRow.disposition,
            EventRow.read_point,
            EventRow.biz_location,
        )
        .outerjoin(EventRow, EventRow.id == LeafRow.event)
        .where(LeafRow.idx >= start, LeafRow.idx < stop)
        .order_by(LeafRow.idx)
    )


def _stored_nodes(s: Session, start: int, stop: int) -> dict[tuple[int, int], bytes]:
    """Perfect nodes completed by leaves ``start..stop-1``: node (L, j) ends at leaf (j+1)·2^L-1."""
    nodes: dict[tuple[int, int], bytes] = {}
    level = 0
    while (1 << level) <= stop:
        low = -(-(start + 1) // (1 << level)) - 1
        high = stop // (1 << level) - 1
        if low <= high:
            query = select(NodeRow.idx, NodeRow.hash).where(
                NodeRow.level == level, NodeRow.idx >= low, NodeRow.idx <= high
            )
            for index, value in s.execute(query):
                nodes[(level, index)] = value
        level += 1
    return nodes


def _checkpoints(s: Session, key: Verifier, tree_size: int) -> Iterator[tuple[int, bytes]]:
    """Stored checkpoints by size, each signature checked; sizes beyond the log are deletions."""
    last = -1
    while True:
        batch = s.execute(
            select(CheckpointRow.size, CheckpointRow.root, CheckpointRow.note)
            .where(CheckpointRow.size > last)
            .order_by(CheckpointRow.size)
            .limit(1000)
        ).all()
        if not batch:
            return
        for size, root, note in batch:
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


def _rebuild(s: Session, row: Any, contexts: dict[str, Any]) -> bytes | None:
    """The leaf the stored event gives now, or ``None`` if it no longer makes one."""
    if row.capture_id not in contexts:
        if len(contexts) > 10_000:
            contexts.clear()
        contexts[row.capture_id] = s.scalar(
            select(CaptureJobRow.context).where(CaptureJobRow.id == row.capture_id)
        )
    record_time: datetime = row.record_time
    try:
        digest = event_hash(json.loads(row.body), contexts[row.capture_id])
        return leaf_data(digest, record_time, row.partner_id)
    except (MicsError, ValueError, TypeError):
        return None


def _indexed(
    s: Session, events: list[int]
) -> dict[int, tuple[set[tuple[str, str]], set[tuple[str, str]]]]:
    """The identifier and business-transaction rows stored for ``events``."""
    found: dict[int, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {}
    for part in range(0, len(events), 500):
        ids = events[part : part + 500]
        for event, epc, role in s.execute(
            select(EventEpcRow.event, EventEpcRow.epc, EventEpcRow.role).where(
                EventEpcRow.event.in_(ids)
            )
        ):
            found.setdefault(event, (set(), set()))[0].add((epc, role))
        for event, kind, value in s.execute(
            select(
                EventBizTransactionRow.event,
                EventBizTransactionRow.type,
                EventBizTransactionRow.value,
            ).where(EventBizTransactionRow.event.in_(ids))
        ):
            found.setdefault(event, (set(), set()))[1].add((kind, value))
    return found


def _term(value: Any) -> Any:
    return cbv.bare_term(value) if isinstance(value, str) else None


def _index_disagreement(
    row: Any, stored: tuple[set[tuple[str, str]], set[tuple[str, str]]]
) -> str | None:
    """What the query columns and index rows say that the logged body does not.

    Queries, genealogy, visibility and passports read these, not the body: a
    change behind the log's back there must be caught like one in the body."""
    event = json.loads(row.body)
    moment = row.event_time
    expected: dict[str, Any] = {
        "event_id": event.get("eventID"),
        "event_type": event.get("type"),
        "action": event.get("action"),
        "biz_step": _term(event.get("bizStep")),
        "disposition": _term(event.get("disposition")),
        "read_point": (event.get("readPoint") or {}).get("id"),
        "biz_location": (event.get("bizLocation") or {}).get("id"),
    }
    for column, value in expected.items():
        if getattr(row, column) != value:
            return (
                f"column {column} of event row {row.id} holds {getattr(row, column)!r}, the "
                f"logged event says {value!r}"
            )
    try:
        logged_time = parse_timestamp(event["eventTime"]).astimezone(UTC)
    except (KeyError, MicsError):
        logged_time = None
    if logged_time != moment.astimezone(UTC):
        return f"column event_time of event row {row.id} holds {moment.isoformat()}"
    if stored[0] != set(identifiers(event)):
        return f"the identifier index of event row {row.id} no longer matches its logged body"
    if stored[1] != set(biz_transactions(event)):
        return f"the business transactions of event row {row.id} no longer match its body"
    return None


def _mismatch(s: Session, index: int, row: Any, rebuilt: bytes | None) -> Finding:
    elsewhere = None
    if rebuilt is not None:
        elsewhere = s.scalar(select(LeafRow.idx).where(LeafRow.data == rebuilt).limit(1))
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
