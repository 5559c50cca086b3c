"""ledger_leaf.event loses its foreign key to epcis_event: the log stands alone (issue 16)

The transparency log is a generic RFC 6962 log of leaves; ``ledger_leaf.event``
is the integer key its appender (trace's capture) gave the leaf, still unique,
no longer a reference into another area's table.

Revision ID: 0010_arch
Revises: 0009_factory
Create Date: 2026-12-03 13:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_arch"
down_revision: str | tuple[str, ...] | None = "0010_epcis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_ledger_leaf_event_epcis_event"


def upgrade() -> None:
    with op.batch_alter_table("ledger_leaf", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("ledger_leaf", schema=None) as batch_op:
        batch_op.create_foreign_key(FOREIGN_KEY, "epcis_event", ["event"], ["id"])
