"""The ``factory_run`` table: simulation jobs submitted over the API, with their results.

A run belongs to the partner whose key submitted it; its scenario is kept as the
TOML text it came as (``scenario_toml``), so a finished run can be re-run or audited.
``status``: ``queued`` -> ``running`` -> ``done`` or ``failed``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mics.db import Base, UtcDateTime


class FactoryRunRow(Base):
    __tablename__ = "factory_run"
    __table_args__ = (Index("ix_factory_run_partner_status", "partner_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partner.id"))
    scenario_name: Mapped[str] = mapped_column(String(200))
    scenario_toml: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(Integer)
    horizon_days: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
