"""factory_run: closed-loop factory simulation jobs and their results (issue 15)

Revision ID: 0009_factory
Revises: 0008_abuse
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_factory"
down_revision: str | tuple[str, ...] | None = "0008_abuse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "factory_run",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("partner_id", sa.String(length=80), nullable=False),
        sa.Column("scenario_name", sa.String(length=200), nullable=False),
        sa.Column("scenario_toml", sa.Text(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("horizon_days", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_factory_run_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factory_run")),
    )
    op.create_index(
        "ix_factory_run_partner_status", "factory_run", ["partner_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_factory_run_partner_status", table_name="factory_run")
    op.drop_table("factory_run")
