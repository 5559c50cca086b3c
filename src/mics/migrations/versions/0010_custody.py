"""custody: ISO 22095 chain-of-custody accounts, entries, claims (issue 18)

Revision ID: 0010_custody
Revises: 0009_factory
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_custody"
down_revision: str | tuple[str, ...] | None = "0010_arch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custody_account",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=80), nullable=False),
        sa.Column("material", sa.String(length=60), nullable=False),
        sa.Column("characteristic", sa.String(length=60), nullable=False),
        sa.Column("pack", sa.String(length=60), nullable=False),
        sa.Column("model", sa.String(length=40), nullable=False),
        sa.Column("conversion_factors", sa.JSON(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["partner.id"], name=op.f("fk_custody_account_site_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_account")),
        sa.UniqueConstraint(
            "site_id", "material", "characteristic", name=op.f("uq_custody_account_site_id")
        ),
    )
    op.create_table(
        "custody_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site_id", sa.String(length=80), nullable=False),
        sa.Column("material", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["partner.id"], name=op.f("fk_custody_entry_site_id_partner")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_entry")),
        sa.UniqueConstraint("event_id", name=op.f("uq_custody_entry_event_id")),
    )
    op.create_index(
        "ix_custody_entry_site_material",
        "custody_entry",
        ["site_id", "material", "event_time"],
        unique=False,
    )
    op.create_table(
        "custody_claim",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=40), nullable=False),
        sa.Column("kg", sa.Float(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("product_group", sa.String(length=60), nullable=True),
        sa.Column("event_id", sa.String(length=300), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["custody_account.id"],
            name=op.f("fk_custody_claim_account_id_custody_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_claim")),
    )
    op.create_index(
        op.f("ix_custody_claim_account_id"), "custody_claim", ["account_id"], unique=False
    )
    op.create_table(
        "custody_claim_item",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=500), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["custody_account.id"],
            name=op.f("fk_custody_claim_item_account_id_custody_account"),
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["custody_claim.id"],
            name=op.f("fk_custody_claim_item_claim_id_custody_claim"),
        ),
        sa.PrimaryKeyConstraint("account_id", "identifier", name=op.f("pk_custody_claim_item")),
    )
    op.create_index(
        op.f("ix_custody_claim_item_claim_id"), "custody_claim_item", ["claim_id"], unique=False
    )
    op.create_table(
        "custody_allocation",
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("kg", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["custody_claim.id"],
            name=op.f("fk_custody_allocation_claim_id_custody_claim"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["custody_entry.id"],
            name=op.f("fk_custody_allocation_entry_id_custody_entry"),
        ),
        sa.PrimaryKeyConstraint("claim_id", "entry_id", name=op.f("pk_custody_allocation")),
    )


def downgrade() -> None:
    op.drop_table("custody_allocation")
    op.drop_index(op.f("ix_custody_claim_item_claim_id"), table_name="custody_claim_item")
    op.drop_table("custody_claim_item")
    op.drop_index(op.f("ix_custody_claim_account_id"), table_name="custody_claim")
    op.drop_table("custody_claim")
    op.drop_index("ix_custody_entry_site_material", table_name="custody_entry")
    op.drop_table("custody_entry")
    op.drop_table("custody_account")
