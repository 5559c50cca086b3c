"""The log's signed tree heads over time: a read API for pages and reports.

Each checkpoint (c2sp.org/tlog-checkpoint) is kept once per tree size it was signed at
(``mics.ledger.store.log.checkpoint``); their sizes and signing times are how the log grew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from mics.db import Database
from mics.ledger.store.tables import CheckpointRow, CosignatureRow

MAX_HISTORY = 1000


@dataclass(frozen=True)
class SignedSize:
    """One checkpoint: its tree size, when it was signed, how many witnesses cosigned it."""

    size: int
    signed_at: datetime
    cosignatures: int


def checkpoint_history(db: Database, limit: int = 200) -> list[SignedSize]:
    """The newest ``limit`` checkpoints (1..MAX_HISTORY), oldest first."""
    limit = max(1, min(limit, MAX_HISTORY))
    cosigned = (
        select(CosignatureRow.size, func.count().label("n"))
        .group_by(CosignatureRow.size)
        .subquery()
    )
    query = (
        select(CheckpointRow.size, CheckpointRow.created_at, cosigned.c.n)
        .outerjoin(cosigned, cosigned.c.size == CheckpointRow.size)
        .order_by(CheckpointRow.size.desc())
        .limit(limit)
    )
    with db.read() as s:
        rows = s.execute(query).all()
    return [SignedSize(int(size), at, int(n or 0)) for size, at, n in reversed(rows)]
