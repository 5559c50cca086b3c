"""Ledger tables: leaves, perfect Merkle nodes, the log head, signed checkpoints.

``ledger_node`` holds one row per perfect subtree ``(level, idx)`` (RFC 9162
§2.1: level 0 rows are the leaf hashes), so that roots, proofs and tiles cost
O(log n) lookups and appending never rebuilds the tree. ``ledger_head`` is a
single row that serialises appenders (``SELECT ... FOR UPDATE`` on PostgreSQL;
SQLite's write lock does the same).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class LeafRow(Base):
    """A leaf: its bytes and the unique integer key its appender gave it (no foreign key:
    trace's capture writes the event row id, the log does not know what it names)."""

    __tablename__ = "ledger_leaf"
    idx: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event: Mapped[int] = mapped_column(BigId, unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class NodeRow(Base):
    __tablename__ = "ledger_node"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class HeadRow(Base):
    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigId, default=0)


class CheckpointRow(Base):
    __tablename__ = "ledger_checkpoint"
    size: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CosignatureRow(Base):
    """A witness's cosignature line on one checkpoint (c2sp.org/tlog-witness)."""

    __tablename__ = "ledger_cosignature"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(ForeignKey("ledger_checkpoint.size"), index=True)
    witness: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WitnessRow(Base):
    """A partner's witness key (role ``witness``): its cosignature/v1 note verifier."""

    __tablename__ = "ledger_witness"
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8))
    vkey: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
