"""Capture jobs as the other areas and the faces see them: one by id, or a page at a time.

``job`` answers ``GET /capture/{captureID}`` (EPCIS 2.0 §8.2.6: the job's state, its
counts and errors); ``jobs`` answers ``GET /capture``. Both return ``CaptureJob``, a
frozen copy of the row: the table class stays inside ``trace``.

The binding's OpenAPI (``GET /capture``: "Returns a list of capture jobs", with ``perPage``,
``nextPageToken`` and a ``Link: <...>; rel="next"`` header) lists jobs; a client uses it to
check that a repository takes events. Jobs are ordered by creation time, then id, and paged
by that key: a page never repeats or skips a job, however many are created meanwhile.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from mics.db import Database
from mics.errors import InvalidInput
from mics.trace.store import CaptureJobRow

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "CaptureJob", "JobPage", "job", "jobs"]

DEFAULT_PER_PAGE = 30  # as /epcis/events (mics.trace.query)
MAX_PER_PAGE = 1000  # one page's rows are ~1 KiB each with their errors: at most ~1 MiB


@dataclass(frozen=True)
class CaptureJob:
    """One capture job: who sent it, when, how it ended, and what it found."""

    id: str
    partner_id: str
    role: str | None  # the role of the API key it came with; None: the CLI, tag-scan verdicts
    created_at: datetime
    finished_at: datetime | None
    running: bool
    success: bool
    error_behaviour: str  # "rollback" or "proceed"
    captured: int
    duplicates: int
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]] | None  # captured but flagged (clock skew)
    context: Any  # the document's @context (what its prefixes and terms mean)

    @classmethod
    def of(cls, row: CaptureJobRow) -> CaptureJob:
        return cls(
            id=row.id,
            partner_id=row.partner_id,
            role=row.role,
            created_at=row.created_at,
            finished_at=row.finished_at,
            running=row.running,
            success=row.success,
            error_behaviour=row.error_behaviour,
            captured=row.captured,
            duplicates=row.duplicates,
            errors=list(row.errors or []),
            warnings=None if row.warnings is None else list(row.warnings),
            context=row.context,
        )


def job(db: Database, capture_id: str) -> CaptureJob | None:
    """The capture job ``capture_id``, or None when there is none."""
    with db.read() as s:
        row = s.get(CaptureJobRow, capture_id)
        return None if row is None else CaptureJob.of(row)


@dataclass(frozen=True)
class JobPage:
    """One page of capture jobs, oldest first, and the token of the next page (or None)."""

    jobs: list[CaptureJob]
    next_token: str | None


def jobs(
    db: Database, partner: str | None, *, per_page: int = DEFAULT_PER_PAGE, token: str | None = None
) -> JobPage:
    """The capture jobs of ``partner`` (every job for ``None``: an operator), a page of them."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            "perPage out of range",
            field="perPage",
            value=per_page,
            expected=f"an integer in 1..{MAX_PER_PAGE}",
        )
    statement = select(CaptureJobRow)
    if partner is not None:
        statement = statement.where(CaptureJobRow.partner_id == partner)
    if token is not None:
        created, job_id = _decode(token)
        statement = statement.where(
            or_(
                CaptureJobRow.created_at > created,
                and_(CaptureJobRow.created_at == created, CaptureJobRow.id > job_id),
            )
        )
    statement = statement.order_by(CaptureJobRow.created_at, CaptureJobRow.id)
    with db.read() as s:
        rows = [CaptureJob.of(row) for row in s.scalars(statement.limit(per_page + 1))]
    if len(rows) <= per_page:
        return JobPage(rows, None)
    last = rows[per_page - 1]
    return JobPage(rows[:per_page], _encode(last.created_at, last.id))


def _encode(created: datetime, job_id: str) -> str:
    raw = f"{created.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str) -> tuple[datetime, str]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, job_id = text.split("|", 1)
        return datetime.fromisoformat(created), job_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(
            "unreadable nextPageToken",
            field="nextPageToken",
            value=token[:40],
            expected="the token from a previous page's Link header",
        ) from None
