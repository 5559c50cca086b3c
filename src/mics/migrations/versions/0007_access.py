"""capture_job.role: the role of the key a capture came with (issue 13, item 3)

A recall declared by an authority counts for every product (``passport.resolver.
is_recalled``); any other partner's recall counts only inside the product's chain of
custody. The partner alone cannot tell the two apart: the operator may give one partner
keys of several roles. NULL for captures without a key (the CLI, the tag-scan verdicts).

Revision ID: 0007_access
Revises: 0006_webhooks
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_access"
down_revision: str | tuple[str, ...] | None = "0006_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("capture_job") as batch:
        batch.add_column(sa.Column("role", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("capture_job") as batch:
        batch.drop_column("role")
