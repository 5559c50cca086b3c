"""capture_job.warnings: what a capture accepted but flags, e.g. clock skew (issue 20, item 6)

EPCIS 2.0 sets no upper bound on an event time, so an event later than the repository's
clock is captured; its job says so, one warning per event (``mics.trace.capture``).
NULL for jobs from before this revision: no warnings.

Revision ID: 0010_epcis
Revises: 0009_factory
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_epcis"
down_revision: str | tuple[str, ...] | None = "0009_factory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capture_job") as batch:
        batch.add_column(sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capture_job") as batch:
        batch.drop_column("warnings")
