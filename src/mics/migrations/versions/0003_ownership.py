"""passport ownership: packaging secrets, ownership periods, transfers

Revision ID: 0003_ownership
Revises: 0002_trace_ledger
Create Date: 2026-11-25 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_ownership"
down_revision: str | None = "0002_trace_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _item_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["item_id"], ["item.id"], name=op.f(f"fk_{table}_item_id_item"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "passport_item",
        sa.Column("item_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("secret_created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        _item_fk("passport_item"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_passport_item")),
    )
    op.create_table(
        "passport_ownership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        _item_fk("passport_ownership"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passport_ownership")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_passport_ownership_token_hash")),
    )
    op.create_index(
        op.f("ix_passport_ownership_item_id"), "passport_ownership", ["item_id"], unique=False
    )
    op.create_table(
        "passport_transfer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _item_fk("passport_transfer"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passport_transfer")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_passport_transfer_code_hash")),
    )
    op.create_index(
        op.f("ix_passport_transfer_item_id"), "passport_transfer", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_passport_transfer_item_id"), table_name="passport_transfer")
    op.drop_table("passport_transfer")
    op.drop_index(op.f("ix_passport_ownership_item_id"), table_name="passport_ownership")
    op.drop_table("passport_ownership")
    op.drop_table("passport_item")
