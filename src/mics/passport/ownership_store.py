"""Ownership tables: packaging secrets, ownership periods, pending transfers.

Only SHA-256 hashes of secrets, owner tokens and transfer codes are stored;
nothing here says who an owner is - a period only has a start and an end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime


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
