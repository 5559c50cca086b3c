"""cold: passport snapshots kept across restarts (issue 22, item 1)

Revision ID: 0011_cold
Revises: 0010_custody
Create Date: 2026-12-03 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_cold"
down_revision: str | tuple[str, ...] | None = "0011_schema"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "passport_snapshot",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("watch", sa.Text(), nullable=True),
        sa.Column("watermark", sa.Integer(), nullable=False),
        sa.Column("shared", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_passport_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("passport_snapshot")
