"""product texts in other languages: ``product.texts`` (JSON, ``{"it": {"name": ...}}``)

The passport shows the product's own name, description, repair and end-of-life notes in
the reader's language where the maker gave them, and says when it falls back to English
(issue 14).

Revision ID: 0005_product_texts
Revises: 0004_capture_indexes
Create Date: 2026-12-03 08:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_product_texts"
down_revision: str | tuple[str, ...] | None = "0004_capture_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.add_column(sa.Column("texts", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("product") as batch:
        batch.drop_column("texts")
