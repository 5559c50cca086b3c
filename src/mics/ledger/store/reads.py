"""The stored log read raw for an audit: each value's type and shape checked on demand.

An audit (:mod:`mics.trace.audit` rebuilds the log from the events) reads the
log's rows as stored (:mod:`mics.ledger.store.rows`) and asks this module to
check each value: a wrong one raises :class:`~mics.ledger.store.rows.BadValue`
naming the table, the row and the column. Leaves are returned with the integer
key their appender gave them (``ledger_leaf.event``), unchecked: what the key
means is the appender's business.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mics.errors import InvalidInput
from mics.ledger.leaf import parse_leaf_data
from mics.ledger.store.rows import BadValue, Reader, raw
from mics.ledger.store.tables import CheckpointRow, HeadRow, LeafRow, NodeRow

__all__ = [
    "StoredCheckpoint",
    "StoredLeaf",
    "checkpoint_values",
    "checkpoints_after",
    "head_size",
    "leaf_bytes",
    "leaf_index_holding",
    "leaves",
    "logged_keys",
    "node_digest",
    "nodes",
]

KEYS_PER_QUERY = 1000  # bound parameters per IN list, well under SQLite's and PostgreSQL's limits


@dataclass(frozen=True)
class StoredLeaf:
    """A leaf row as stored: its index, its raw data and its appender's raw key."""

    index: int
    data: object
    key: object


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint row as stored: its size, its raw root and its raw signed note."""

    size: int
    root: object
    note: object


def head_size(s: Session, read: Reader) -> int:
    """The tree size in ``ledger_head`` (0 when there is no head row), checked."""
    stored = s.scalar(select(raw(HeadRow.size)).where(HeadRow.id == 1))
    size: int = read.value(HeadRow.size, stored, 1) if stored is not None else 0
    if size < 0:
        raise BadValue("ledger_head", 1, "size", f"{size}, expected a tree size >= 0")
    return size


def leaves(s: Session, start: int, stop: int) -> dict[int, StoredLeaf]:
    """The leaf rows ``start..stop-1`` that exist, by index."""
    query = (
        select(LeafRow.idx, raw(LeafRow.data), raw(LeafRow.event))
        .where(LeafRow.idx >= start, LeafRow.idx < stop)
        .order_by(LeafRow.idx)
    )
    return {index: StoredLeaf(index, data, key) for index, data, key in s.execute(query)}


def leaf_bytes(read: Reader, leaf: StoredLeaf) -> bytes:
    """The leaf's bytes, which must be a ``mics-leaf/v1`` leaf."""
    data: bytes = read.value(LeafRow.data, leaf.data, leaf.index)
    try:
        parse_leaf_data(data)
    except InvalidInput as error:
        problem = f"{len(data)} bytes that are not a mics-leaf/v1 leaf ({error.reason})"
        raise BadValue("ledger_leaf", leaf.index, "data", problem) from None
    return data


def nodes(s: Session, start: int, stop: int) -> dict[tuple[int, int], object]:
    """Perfect nodes completed by leaves ``start..stop-1``: node (L, j) ends at leaf (j+1)·2^L-1."""
    found: dict[tuple[int, int], object] = {}
    level = 0
    while (1 << level) <= stop:
        low = -(-(start + 1) // (1 << level)) - 1
        high = stop // (1 << level) - 1
        if low <= high:
            query = select(NodeRow.idx, raw(NodeRow.hash)).where(
                NodeRow.level == level, NodeRow.idx >= low, NodeRow.idx <= high
            )
            for index, value in s.execute(query):
                found[(level, index)] = value
        level += 1
    return found


def node_digest(read: Reader, stored: object, key: tuple[int, int]) -> bytes:
    """A stored node hash: 32 bytes."""
    return read.digest(NodeRow.hash, stored, key)


def checkpoints_after(s: Session, size: int, limit: int = 1000) -> list[StoredCheckpoint]:
    """Up to ``limit`` stored checkpoints of sizes above ``size``, smallest first."""
    query = (
        select(CheckpointRow.size, raw(CheckpointRow.root), raw(CheckpointRow.note))
        .where(CheckpointRow.size > size)
        .order_by(CheckpointRow.size)
        .limit(limit)
    )
    return [StoredCheckpoint(size, root, note) for size, root, note in s.execute(query)]


def checkpoint_values(read: Reader, stored: StoredCheckpoint) -> tuple[bytes, str]:
    """A checkpoint's root (32 bytes) and note (text), checked."""
    root = read.digest(CheckpointRow.root, stored.root, stored.size)
    note: str = read.value(CheckpointRow.note, stored.note, stored.size)
    return root, note


def leaf_index_holding(s: Session, data: bytes) -> int | None:
    """The index of a leaf whose data is ``data``, if any."""
    return s.scalar(select(LeafRow.idx).where(LeafRow.data == data).limit(1))


def logged_keys(s: Session, keys: Iterable[int]) -> set[int]:
    """Which of the appender's ``keys`` have a leaf."""
    wanted = list(keys)
    found: set[int] = set()
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        part = wanted[start : start + KEYS_PER_QUERY]
        found.update(s.scalars(select(LeafRow.event).where(LeafRow.event.in_(part))))
    return found
