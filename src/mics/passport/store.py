"""The passport's tables: the data carriers, their scans, and who owns each item.

- ``nfc_tag``: one NTAG 424 DNA per item, by its 7-byte UID. No key is stored:
  the tag's keys derive from the instance's master key and the UID (AN10922),
  so this table holds only the anti-replay state of AN12196 §3.4 - the last
  accepted SDMReadCtr, when and where it was read.
- ``read_point``: a registered place where tags are read (a shop, a customs
  post), with WGS 84 coordinates for the impossible-travel check.
- ``tag_scan``: every scan that speaks for the item (authentic, replay, possible
  clone, stolen, lost) and its verdict (an outbox: ``event_id`` is set once the
  verdict is captured as an EPCIS ObjectEvent in the transparency log).
- ``rejected_scan``: scans judged ``not_authentic`` (a MAC that did not verify, a
  tag not the item's), kept apart from the log, the newest few per item
  (``passport.rejected``).
- ``passport_item``, ``passport_ownership``, ``passport_transfer``: packaging
  secrets and the owner's lost/stolen report, ownership periods, pending transfer
  codes (``passport.ownership``). Only SHA-256 hashes of secrets, owner tokens and
  transfer codes are stored; nothing says who an owner is - a period only has a
  start and an end.
- ``passport_snapshot``: the slow part of a passport as served, kept across
  restarts (``passport.snapshots``; a cache, rebuilt whenever it may be stale).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    bindparam,
    func,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime

NEVER_READ = -1  # nfc_tag.counter before the first accepted scan (SDMReadCtr starts at 0)


class NfcTagRow(Base):
    __tablename__ = "nfc_tag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(14), unique=True)  # upper-case hex
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), unique=True)
    counter: Mapped[int] = mapped_column(Integer, default=NEVER_READ)
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())


class ReadPointRow(Base):
    __tablename__ = "read_point"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    gln: Mapped[str | None] = mapped_column(String(13), nullable=True)


class TagScanRow(Base):
    __tablename__ = "tag_scan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("nfc_tag.id"), nullable=True)
    uid: Mapped[str | None] = mapped_column(String(14), nullable=True)
    counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    read_point_id: Mapped[str | None] = mapped_column(ForeignKey("read_point.id"), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)


class RejectedScanRow(Base):
    __tablename__ = "rejected_scan"
    __table_args__ = (Index("ix_rejected_scan_item_id_id", "item_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    uid: Mapped[str | None] = mapped_column(String(14), nullable=True)  # a tag that did verify
    counter: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    scanned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    read_point_id: Mapped[str | None] = mapped_column(ForeignKey("read_point.id"), nullable=True)


class PassportItemRow(Base):
    """Per item: the hash of the secret printed inside the packaging, and its status."""

    __tablename__ = "passport_item"
    item_id: Mapped[int] = mapped_column(
        ForeignKey("item.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    secret_hash: Mapped[str] = mapped_column(String(64))
    secret_created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # None, "lost" or "stolen", as the owner last reported
    status: Mapped[str | None] = mapped_column(String(10), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class OwnershipRow(Base):
    """One period of ownership: from ``since`` to ``until`` (open while current)."""

    __tablename__ = "passport_ownership"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class TransferRow(Base):
    """A one-time transfer code the current owner handed to the next one."""

    __tablename__ = "passport_transfer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PassportSnapshotRow(Base):
    """A served passport's slow part (JSON bytes) and what its change check needs."""

    __tablename__ = "passport_snapshot"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha-256 of the cache key
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    watch: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list, or NULL: any
    watermark: Mapped[int] = mapped_column(Integer)  # the last event id when assembled
    shared: Mapped[str] = mapped_column(String(64))  # digest of the product part used
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())


# The one home of the rule "only scans whose MAC checked speak for the item": anyone
# can send a random e/c for an item's URL, and that must not brand a genuine item as
# counterfeit for everyone. The item's last such scan: verdict, when, tag counter.
LAST_CHECKED_SCAN = (
    select(TagScanRow.verdict, TagScanRow.scanned_at, TagScanRow.counter)
    .where(TagScanRow.item_id == bindparam("item"), TagScanRow.verdict != "not_authentic")
    .order_by(TagScanRow.scanned_at.desc(), TagScanRow.id.desc())
    .limit(1)
)
