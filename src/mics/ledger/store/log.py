"""The transparency log service: append in the caller's transaction, sign, prove, serve.

- ``append(session, leaves)`` adds leaf data in order inside the capture
  transaction (no event without its leaf, no leaf without its event), with the
  right edge resumed from stored perfect nodes: O(log n) per leaf. ``lock``
  takes the append lock first; ``append`` reuses the size it read.
- ``checkpoint(db, signer)`` signs the current tree head as a C2SP
  tlog-checkpoint note; ``latest_checkpoint`` issues a new one at most once a
  second when the tree has grown.
- proofs and tiles read perfect nodes from ``ledger_node``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import Conflict, InvalidInput, NotFound
from mics.ledger import merkle, tiles
from mics.ledger.note import Signer, format_checkpoint, sign_note
from mics.ledger.store.tables import CheckpointRow, HeadRow, LeafRow, NodeRow
from mics.storage.bulk import insert_rows, parameter_mark

CHECKPOINT_INTERVAL = timedelta(seconds=1)
LEAF_TABLE = LeafRow.metadata.tables["ledger_leaf"]
NODE_TABLE = NodeRow.metadata.tables["ledger_node"]


class NodeCache:
    """Perfect nodes read from the store, with a per-call memo."""

    def __init__(self, session: Session | Connection) -> None:
        self._session = session
        self._memo: dict[tuple[int, int], bytes] = {}

    def __call__(self, level: int, index: int) -> bytes:
        key = (level, index)
        found = self._memo.get(key)
        if found is None:
            found = self._session.scalar(
                select(NodeRow.hash).where(NodeRow.level == level, NodeRow.idx == index)
            )
            if found is None:
                raise NotFound(f"the log has no node at level {level} index {index}")
            self._memo[key] = found
        return found

    def prefetch(self, wanted: Sequence[tuple[int, int]]) -> None:
        """Fetch many nodes in one statement of ``level = ? AND idx = ?`` terms.

        Plain SQL to the driver: each term is a primary-key lookup on SQLite and
        PostgreSQL, and the statement costs no expression building (proofs read
        ~2 log2 n nodes, every capture its ~log2 n right edge). A ``text()`` with
        named parameters cost ~140 us for 3 nodes, parsing them again each time;
        this ~40 us.
        """
        missing = list(dict.fromkeys(k for k in wanted if k not in self._memo))
        if not missing:
            return
        store = self._session
        connection = store if isinstance(store, Connection) else store.connection()
        mark = parameter_mark(connection.dialect)
        for chunk in range(0, len(missing), 200):
            part = missing[chunk : chunk + 200]
            terms = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(part))
            rows = connection.exec_driver_sql(
                f"SELECT level, idx, hash FROM ledger_node WHERE {terms}",
                tuple(number for node in part for number in node),
            )
            for level, index, value in rows:
                self._memo[(level, index)] = bytes(value)


def _plan(proof: Callable[[merkle.NodeLookup], object]) -> list[tuple[int, int]]:
    """The perfect nodes a proof reads, found by a dry run: then one query fetches them all."""
    wanted: list[tuple[int, int]] = []

    def record(level: int, index: int) -> bytes:
        wanted.append((level, index))
        return bytes(merkle.HASH_SIZE)

    proof(record)
    return wanted


# Every capture locks, reads and moves the head, so these statements go to the driver as
# plain SQL on the session's connection. Through the ORM (the head selected by lock() and
# again by append(), one select per right-edge node, an ORM update flushed at commit),
# lock() + append() of one leaf on a 1,000-leaf log took 11 statements and ~2.1 ms before
# the commit, most of a one-event capture's ~5 ms on the 2-core bench machine; now 5 and
# ~0.35 ms (src/mics/trace/BENCH.md, round 4).
_HELD = "mics.ledger.held"  # Session.info: (transaction, size) of the head it has locked


def _transaction(session: Session) -> object:
    """The innermost transaction in progress: a held size is good inside it only."""
    return session.get_nested_transaction() or session.get_transaction()


def lock(session: Session) -> int:
    """Take the log's append lock for this transaction; returns the current size.

    The head row is the lock: ``SELECT ... FOR UPDATE`` on PostgreSQL, while on
    SQLite the transaction's write lock serialises appenders. ``append`` in the
    same transaction starts from the size read here rather than reading it again.
    """
    connection = session.connection()
    for_update = "" if connection.dialect.name == "sqlite" else " FOR UPDATE"
    found = connection.exec_driver_sql(
        "SELECT size FROM ledger_head WHERE id = 1" + for_update
    ).scalar()
    if found is None:
        connection.exec_driver_sql("INSERT INTO ledger_head (id, size) VALUES (1, 0)")
    current = int(found or 0)
    session.info[_HELD] = (_transaction(session), current)
    return current


def _locked_size(session: Session) -> int:
    """The size that ``lock`` read or ``append`` left in this transaction, else ``lock()``."""
    held = session.info.get(_HELD)
    if held is not None and held[0] is _transaction(session):
        return int(held[1])
    return lock(session)


def append(session: Session, entries: Sequence[tuple[int, bytes]]) -> list[int]:
    """Append ``(event id, leaf data)`` pairs in order; returns their leaf indexes."""
    if not entries:
        return []
    start = _locked_size(session)
    connection = session.connection()
    cache = NodeCache(connection)
    cache.prefetch(merkle.right_edge(start))  # one statement for the ~log2 n edge nodes
    edge = merkle.CompactRange.resume(start, cache)
    leaves = []
    nodes: list[tuple[int, int, bytes]] = []
    add_nodes, leaf_hash, add_leaf = nodes.extend, merkle.leaf_hash, edge.append
    for index, (event_id, data) in enumerate(entries, start):
        add_nodes(add_leaf(leaf_hash(data)))
        leaves.append((index, event_id, data))
    # plain tuples straight to the driver: no ORM unit of work, no per-row dicts
    insert_rows(session, LEAF_TABLE, ("idx", "event", "data"), leaves)
    insert_rows(session, NODE_TABLE, ("level", "idx", "hash"), nodes)
    mark = parameter_mark(connection.dialect)
    connection.exec_driver_sql(f"UPDATE ledger_head SET size = {mark} WHERE id = 1", (edge.size,))
    session.info[_HELD] = (_transaction(session), edge.size)
    return list(range(start, edge.size))


def size(session: Session) -> int:
    return session.scalar(select(HeadRow.size).where(HeadRow.id == 1)) or 0


def root(session: Session, tree_size: int) -> bytes:
    return merkle.root(NodeCache(session), tree_size)


def checkpoint(db: Database, signer: Signer, origin: str) -> CheckpointRow:
    """Sign the current tree head now (on demand), unless it is already signed.

    The log signs a size once, whichever process asks: the size is the table's
    primary key, so of two signers (two ``mics serve`` on one PostgreSQL, two threads)
    that sign one size at the same moment the second fails to store its row, reads
    the first one's and answers it, after checking that both saw the same root.
    """
    root_hash = b""
    try:
        with db.transaction() as s:
            tree_size = size(s)
            existing = s.get(CheckpointRow, tree_size)
            if existing is not None:
                return existing
            root_hash = root(s, tree_size)
            note = sign_note(format_checkpoint(origin, tree_size, root_hash), signer)
            row = CheckpointRow(
                size=tree_size, root=root_hash, note=note, created_at=datetime.now(UTC)
            )
            s.add(row)
            return row
    except IntegrityError:
        stored = checkpoint_at(db, tree_size)
        if stored.root != root_hash:  # two trees of one size: the log forked; never serve it
            raise Conflict(
                f"the log's checkpoint at tree size {tree_size} has root {stored.root.hex()}, "
                f"but this process computed {root_hash.hex()} for that size",
                field="tree_size",
                value=tree_size,
            ) from None
        return stored


def latest_checkpoint(db: Database, signer: Signer, origin: str) -> CheckpointRow:
    """The newest checkpoint; a new one when the tree grew and the last is >= 1 s old."""
    with db.read() as s:
        last = s.scalar(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1))
        tree_size = size(s)
    fresh = last is not None and datetime.now(UTC) - last.created_at < CHECKPOINT_INTERVAL
    if last is not None and (last.size == tree_size or fresh):
        return last
    return checkpoint(db, signer, origin)


def checkpoint_at(db: Database, tree_size: int) -> CheckpointRow:
    with db.read() as s:
        row = s.get(CheckpointRow, tree_size)
        if row is None:
            raise NotFound(
                f"no checkpoint was signed at tree size {tree_size}",
                field="tree_size",
                value=tree_size,
            )
        return row


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_data: bytes
    hashes: list[bytes]

    def as_json(self) -> dict[str, object]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_data": self.leaf_data.hex(),
            "leaf_hash": merkle.leaf_hash(self.leaf_data).hex(),
            "hashes": [h.hex() for h in self.hashes],
        }


def _check_size(s: Session, tree_size: int, field: str) -> None:
    current = size(s)
    if not 0 < tree_size <= current:
        raise InvalidInput(
            f"the log has {current} leaves", field=field, value=tree_size, expected=f"1..{current}"
        )


def inclusion_by_index(db: Database, index: int, tree_size: int) -> InclusionProof:
    # A proof is the hot read of the log: one plain connection (no ORM session), one
    # statement for the head and the leaf, one for the ~2 log2 n nodes.
    with db.engine.connect() as connection:
        found = connection.execute(_LEAF_AND_SIZE, {"i": index}).first()
        current = int(found[0]) if found is not None else size_of(connection)
        if not 0 < tree_size <= current:
            raise InvalidInput(
                f"the log has {current} leaves",
                field="tree_size",
                value=tree_size,
                expected=f"1..{current}",
            )
        if not 0 <= index < tree_size:
            raise InvalidInput(
                "leaf index outside the tree",
                field="leaf_index",
                value=index,
                expected=f"0..{tree_size - 1}",
            )
        if found is None:
            raise NotFound(f"no leaf at index {index}")
        cache = NodeCache(connection)
        cache.prefetch(_plan(lambda node: merkle.inclusion_proof(node, index, tree_size)))
        path = merkle.inclusion_proof(cache, index, tree_size)
        return InclusionProof(index, tree_size, bytes(found[1]), path)


_LEAF_AND_SIZE = text(
    "SELECT (SELECT size FROM ledger_head WHERE id = 1), data FROM ledger_leaf WHERE idx = :i"
)


def size_of(connection: Any) -> int:
    return int(connection.execute(text("SELECT size FROM ledger_head WHERE id = 1")).scalar() or 0)


def inclusion_by_hash(db: Database, leaf_hash: bytes, tree_size: int) -> InclusionProof:
    with db.read() as s:
        index = s.scalar(select(NodeRow.idx).where(NodeRow.level == 0, NodeRow.hash == leaf_hash))
    if index is None:
        raise NotFound(
            f"no leaf with hash {leaf_hash.hex()}", field="leaf_hash", value=leaf_hash.hex()
        )
    return inclusion_by_index(db, index, tree_size)


def inclusion_by_event(db: Database, event_pk: int, tree_size: int) -> InclusionProof:
    with db.read() as s:
        index = s.scalar(select(LeafRow.idx).where(LeafRow.event == event_pk))
    if index is None:
        raise NotFound("this event has no leaf in the log", field="event", value=event_pk)
    return inclusion_by_index(db, index, tree_size)


def consistency(db: Database, first: int, second: int) -> list[bytes]:
    with db.read() as s:
        _check_size(s, second, "second")
        if not 0 < first <= second:
            raise InvalidInput(
                "first must be in 1..second", field="first", value=first, expected=f"1..{second}"
            )
        cache = NodeCache(s)
        cache.prefetch(_plan(lambda node: merkle.consistency_proof(node, first, second)))
        return merkle.consistency_proof(cache, first, second)


def tile(db: Database, path: str) -> tuple[bytes, bool]:
    """The bytes of a C2SP tile or entry bundle, and whether it is full (immutable)."""
    parsed = tiles.parse_tile_path(path)
    with db.read() as s:
        tree_size = size(s)
        if isinstance(parsed, tiles.EntryBundle):
            wanted = parsed.leaf_range
            if wanted.stop > tree_size:
                raise NotFound(f"entry bundle {path} is beyond the tree size {tree_size}")
            data = list(
                s.scalars(
                    select(LeafRow.data)
                    .where(LeafRow.idx >= wanted.start, LeafRow.idx < wanted.stop)
                    .order_by(LeafRow.idx)
                )
            )
            return tiles.entry_bundle(data), parsed.width == tiles.TILE_WIDTH
        available = tiles.level_width(parsed.level, tree_size)
        last_node = parsed.index * tiles.TILE_WIDTH + parsed.width
        if last_node > available:
            raise NotFound(f"tile {path} is beyond the tree size {tree_size}")
        cache = NodeCache(s)
        cache.prefetch(parsed.nodes)
        return tiles.tile_bytes(parsed, cache), parsed.width == tiles.TILE_WIDTH


def leaf_index(db: Database, event_pk: int) -> int:
    """The leaf index of the stored event ``event_pk``."""
    with db.read() as s:
        index = s.scalar(select(LeafRow.idx).where(LeafRow.event == event_pk))
    if index is None:
        raise NotFound("this event has no leaf in the log", field="event", value=event_pk)
    return index
