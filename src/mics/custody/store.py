"""Custody's own tables: accounts, ledger entries, claims, their items and allocations.

``custody_claim_item`` has one row per (account, item or lot): the database itself
refuses a second claim on the same item in the same account. ``custody_allocation``
records which input's credit a claim used and how much (credits are used once).
``custody_account.claims`` is bumped by every claim, so that a claim's check and
its write hold the account's row lock (PostgreSQL) or the write lock (SQLite).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime


class CustodyAccountRow(Base):
    __tablename__ = "custody_account"
    __table_args__ = (UniqueConstraint("site_id", "material", "characteristic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("partner.id"))
    material: Mapped[str] = mapped_column(String(60))
    characteristic: Mapped[str] = mapped_column(String(60))
    pack: Mapped[str] = mapped_column(String(60))
    model: Mapped[str] = mapped_column(String(40))
    conversion_factors: Mapped[dict[str, Any]] = mapped_column(JSON)
    claims: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustodyEntryRow(Base):
    __tablename__ = "custody_entry"
    __table_args__ = (Index("ix_custody_entry_site_material", "site_id", "material", "event_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("partner.id"))
    material: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(300), unique=True)
    event_time: Mapped[datetime] = mapped_column(UtcDateTime())
    body: Mapped[dict[str, Any]] = mapped_column(JSON)


class CustodyClaimRow(Base):
    __tablename__ = "custody_claim"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("custody_account.id"), index=True)
    period: Mapped[str] = mapped_column(String(40))
    kg: Mapped[float] = mapped_column(Float)
    share: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(String(500))
    product_group: Mapped[str | None] = mapped_column(String(60), nullable=True)
    event_id: Mapped[str] = mapped_column(String(300))
    evidence: Mapped[list[str]] = mapped_column(JSON)
    made_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustodyClaimItemRow(Base):
    __tablename__ = "custody_claim_item"

    account_id: Mapped[int] = mapped_column(ForeignKey("custody_account.id"), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(500), primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("custody_claim.id"), index=True)


class CustodyAllocationRow(Base):
    __tablename__ = "custody_allocation"

    claim_id: Mapped[int] = mapped_column(ForeignKey("custody_claim.id"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("custody_entry.id"), primary_key=True)
    kg: Mapped[float] = mapped_column(Float)
