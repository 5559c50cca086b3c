"""events: a partner's own events in capture order, ``(partner_id, id)`` (issue 22, item 4)

A partner sees its own events and those naming it (``mics.trace.viewer``). Checked as one
condition "own OR named" on an ordered scan, that walked every event for a partner with
few (4 s for a partner's first ``/events`` page of 100,000 events). Reads in an order now
merge two parts, each read through an index: the events naming the partner through the
identifiers' ``(epc, role, event)``, its own events through this index, which gives them
in capture order (the pages' default order and the subscriptions'). ``bench/queries.py
--explain`` lists the reads whose plans use it. It costs each captured event one B-tree
insert, at the right edge of its partner's range.

On PostgreSQL an index on the partitioned ``epcis_event`` is made on each month's partition
and on each partition created later.

Revision ID: 0012_events
Revises: 0011_cold
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_events"
down_revision: str | tuple[str, ...] | None = "0011_cold"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_epcis_event_partner", "epcis_event", ["partner_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_epcis_event_partner", table_name="epcis_event")
