"""NFC tags, read points and tag scans (mics.passport.store)

Revision ID: 0003_tags
Revises: 0002_trace_ledger
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_tags"
down_revision: str | None = "0002_trace_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nfc_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=14), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_latitude", sa.Float(), nullable=True),
        sa.Column("last_longitude", sa.Float(), nullable=True),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_nfc_tag_item_id_item")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nfc_tag")),
        sa.UniqueConstraint("item_id", name=op.f("uq_nfc_tag_item_id")),
        sa.UniqueConstraint("uid", name=op.f("uq_nfc_tag_uid")),
    )
    op.create_table(
        "read_point",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("gln", sa.String(length=13), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_point")),
    )
    op.create_table(
        "tag_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("uid", sa.String(length=14), nullable=True),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("read_point_id", sa.String(length=80), nullable=True),
        sa.Column("event_id", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_tag_scan_item_id_item")),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["nfc_tag.id"], name=op.f("fk_tag_scan_tag_id_nfc_tag")
        ),
        sa.ForeignKeyConstraint(
            ["read_point_id"],
            ["read_point.id"],
            name=op.f("fk_tag_scan_read_point_id_read_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_scan")),
    )
    op.create_index(op.f("ix_tag_scan_item_id"), "tag_scan", ["item_id"], unique=False)
    op.create_index(op.f("ix_tag_scan_verdict"), "tag_scan", ["verdict"], unique=False)
    op.create_index(op.f("ix_tag_scan_event_id"), "tag_scan", ["event_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_tag_scan_event_id"), table_name="tag_scan")
    op.drop_index(op.f("ix_tag_scan_verdict"), table_name="tag_scan")
    op.drop_index(op.f("ix_tag_scan_item_id"), table_name="tag_scan")
    op.drop_table("tag_scan")
    op.drop_table("read_point")
    op.drop_table("nfc_tag")
