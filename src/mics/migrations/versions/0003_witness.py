"""ledger witness keys

Revision ID: 0003_witness
Revises: 0002_trace_ledger
Create Date: 2026-11-25 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_witness"
down_revision: str | None = "0002_trace_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_witness",
        sa.Column("partner_id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("vkey", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_ledger_witness_partner_id_partner")
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_ledger_witness")),
    )


def downgrade() -> None:
    op.drop_table("ledger_witness")
