"""capture indexes: one per query that needs it (issue 3, Performance)

Every index on ``epcis_event``, ``epcis_event_epc`` and ``epcis_event_biztx`` costs each
captured event a B-tree insert. Dropped, because no query reads them (EXPLAIN QUERY PLAN of
every query in trace/query.py, genealogy.py, subscriptions.py, ledger/audit.py, ledger/log.py
and passport/resolver.py before and after): ``epcis_event.event_hash``, ``partner_id`` and
``capture_id`` (visibility ORs the partner with an EXISTS, so it scans in id order anyway),
``biz_step`` and ``(event_type, event_time)`` (low selectivity: a page scans in id order and
stops at its size), ``epcis_event_biztx.event``. Widened so the lookups are answered from
the index alone: ``epcis_event_epc (epc, role)`` -> ``(epc, role, event)`` (MATCH_*,
visibility, genealogy) and ``epcis_event_biztx (type, value)`` -> ``(type, value, event)``.

This also merges the 0003 branches into one head.

Revision ID: 0004_capture_indexes
Revises: 0003_ownership, 0003_tags, 0003_witness
Create Date: 2026-11-24 22:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_capture_indexes"
down_revision: str | tuple[str, ...] | None = ("0003_ownership", "0003_tags", "0003_witness")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROPPED = (
    ("epcis_event", "ix_epcis_event_event_hash", ["event_hash"]),
    ("epcis_event", "ix_epcis_event_partner_id", ["partner_id"]),
    ("epcis_event", "ix_epcis_event_capture_id", ["capture_id"]),
    ("epcis_event", "ix_epcis_event_biz_step", ["biz_step"]),
    ("epcis_event", "ix_epcis_event_type_time", ["event_type", "event_time"]),
    ("epcis_event_epc", "ix_epcis_event_epc_epc_role", ["epc", "role"]),
    ("epcis_event_biztx", "ix_epcis_event_biztx_event", ["event"]),
    ("epcis_event_biztx", "ix_epcis_event_biztx_type_value", ["type", "value"]),
)
_CREATED = (
    ("epcis_event_epc", "ix_epcis_event_epc_epc_role_event", ["epc", "role", "event"]),
    ("epcis_event_biztx", "ix_epcis_event_biztx_type_value_event", ["type", "value", "event"]),
)


def upgrade() -> None:
    # Indexes need no table rebuild, so plain CREATE/DROP INDEX serves SQLite and PostgreSQL.
    for table, name, columns in _CREATED:
        op.create_index(name, table, columns, unique=False)
    for table, name, _ in _DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in _DROPPED:
        op.create_index(name, table, columns, unique=False)
    for table, name, _ in _CREATED:
        op.drop_index(name, table_name=table)
