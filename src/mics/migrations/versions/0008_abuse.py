"""rejected scans: not-authentic tag scans kept apart from the transparency log (issue 13)

Anyone can send a scan URL with a made-up SUN message, and each one used to become an
EPCIS event in the log. ``rejected_scan`` keeps such scans instead, the newest few per
item (``passport.rejected``). Rows of ``tag_scan`` judged ``not_authentic`` and not yet
published move there; those already in the log stay (the log is append-only).

Revision ID: 0008_abuse
Revises: 0007_access
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_abuse"
down_revision: str | tuple[str, ...] | None = "0007_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "item_id, uid, counter, reason, scanned_at, latitude, longitude, read_point_id"
_UNPUBLISHED = "verdict = 'not_authentic' AND event_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "rejected_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=14), nullable=True),
        sa.Column("counter", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("read_point_id", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_rejected_scan_item_id_item")
        ),
        sa.ForeignKeyConstraint(
            ["read_point_id"],
            ["read_point.id"],
            name=op.f("fk_rejected_scan_read_point_id_read_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejected_scan")),
    )
    op.create_index("ix_rejected_scan_item_id_id", "rejected_scan", ["item_id", "id"])
    op.execute(
        f"INSERT INTO rejected_scan ({_COLUMNS}) SELECT {_COLUMNS} FROM tag_scan "
        f"WHERE {_UNPUBLISHED} ORDER BY id"
    )
    op.execute(f"DELETE FROM tag_scan WHERE {_UNPUBLISHED}")


def downgrade() -> None:
    op.execute(
        f"INSERT INTO tag_scan (verdict, {_COLUMNS}) "
        f"SELECT 'not_authentic', {_COLUMNS} FROM rejected_scan ORDER BY id"
    )
    op.drop_index("ix_rejected_scan_item_id_id", table_name="rejected_scan")
    op.drop_table("rejected_scan")
