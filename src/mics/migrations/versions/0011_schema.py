"""capture schema: the identifier and business-transaction rows lose their surrogate key (issue 22)

Every index on the event tables serves a read (``bench/queries.py --explain`` lists each
read's plan and the reads each index serves), so none is dropped; what no read needs is
the surrogate ``id`` of ``epcis_event_epc`` and ``epcis_event_biztx`` and the B-tree it
costs each of ~9 rows an event writes.

- ``epcis_event_epc`` is keyed by ``(event, epc, role)``: on SQLite a ``WITHOUT ROWID``
  table, whose B-tree in event order replaces both the rowid table and the ``event``
  index; on PostgreSQL the primary key replaces ``id``'s and the ``event`` index.
  ``(epc, role, event)`` stays for ``MATCH_*``, visibility, genealogy.
- ``epcis_event_biztx`` is keyed by ``(type, value, event)`` (``WITHOUT ROWID`` on
  SQLite), the index ``EQ_bizTransaction_*`` read, which it replaces. A transaction an
  event listed twice was stored twice; it is kept once.

Existing rows are copied (SQLite: into the new table, which takes the old one's name) or
re-keyed in place (PostgreSQL).

Revision ID: 0011_schema
Revises: 0010_custody
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_schema"
down_revision: str | tuple[str, ...] | None = "0010_custody"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EPC_FK = (
    "CONSTRAINT fk_epcis_event_epc_event_epcis_event FOREIGN KEY(event) REFERENCES epcis_event (id)"
)
_BIZTX_FK = (
    "CONSTRAINT fk_epcis_event_biztx_event_epcis_event FOREIGN KEY(event) "
    "REFERENCES epcis_event (id)"
)
_EPC_INDEX = "CREATE INDEX ix_epcis_event_epc_epc_role_event ON epcis_event_epc (epc, role, event)"
_EPC_EVENT_INDEX = "CREATE INDEX ix_epcis_event_epc_event ON epcis_event_epc (event)"
_BIZTX_INDEX = (
    "CREATE INDEX ix_epcis_event_biztx_type_value_event ON epcis_event_biztx (type, value, event)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(
            "epcis_event_epc",
            "event INTEGER NOT NULL, epc VARCHAR(300) NOT NULL, role VARCHAR(20) NOT NULL, "
            f"CONSTRAINT pk_epcis_event_epc PRIMARY KEY (event, epc, role), {_EPC_FK}",
            "event, epc, role",
            " WITHOUT ROWID",
            (_EPC_INDEX,),
        )
        _rebuild(
            "epcis_event_biztx",
            "type VARCHAR(200) NOT NULL, value VARCHAR(300) NOT NULL, event INTEGER NOT NULL, "
            f"CONSTRAINT pk_epcis_event_biztx PRIMARY KEY (type, value, event), {_BIZTX_FK}",
            "type, value, event",
            " WITHOUT ROWID",
            (),
        )
        return
    _rekey("epcis_event_epc", ("event", "epc", "role"), "ix_epcis_event_epc_event")
    _rekey("epcis_event_biztx", ("type", "value", "event"), "ix_epcis_event_biztx_type_value_event")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(
            "epcis_event_epc",
            "id INTEGER NOT NULL, event INTEGER NOT NULL, epc VARCHAR(300) NOT NULL, "
            f"role VARCHAR(20) NOT NULL, CONSTRAINT pk_epcis_event_epc PRIMARY KEY (id), {_EPC_FK}",
            "event, epc, role",
            "",
            (_EPC_EVENT_INDEX, _EPC_INDEX),
        )
        _rebuild(
            "epcis_event_biztx",
            "id INTEGER NOT NULL, event INTEGER NOT NULL, type VARCHAR(200) NOT NULL, "
            f"value VARCHAR(300) NOT NULL, CONSTRAINT pk_epcis_event_biztx PRIMARY KEY (id), "
            f"{_BIZTX_FK}",
            "type, value, event",
            "",
            (_BIZTX_INDEX,),
        )
        return
    for table, index in (
        ("epcis_event_epc", _EPC_EVENT_INDEX),
        ("epcis_event_biztx", _BIZTX_INDEX),
    ):
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
        op.execute(f"ALTER TABLE {table} ADD COLUMN id BIGSERIAL")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)")
        op.execute(index)


def _rebuild(table: str, columns: str, copied: str, options: str, indexes: Sequence[str]) -> None:
    """SQLite: ``table`` made anew with ``columns``, its distinct rows copied, its indexes."""
    op.execute(f"CREATE TABLE {table}_0011 ({columns}){options}")
    op.execute(
        f"INSERT INTO {table}_0011 ({copied}) SELECT DISTINCT {copied} FROM {table} ORDER BY event"
    )
    op.execute(f"DROP TABLE {table}")  # its indexes go with it
    op.execute(f"ALTER TABLE {table}_0011 RENAME TO {table}")
    for index in indexes:
        op.execute(index)


def _rekey(table: str, key: tuple[str, ...], dropped_index: str) -> None:
    """PostgreSQL: ``table`` keyed by ``key``, without ``id``, repeats and ``dropped_index``."""
    names = ", ".join(key)
    same = " AND ".join(f"a.{c} = b.{c}" for c in key)
    op.execute(f"DELETE FROM {table} a USING {table} b WHERE a.id > b.id AND {same}")
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT pk_{table}")
    op.execute(f"ALTER TABLE {table} DROP COLUMN id")
    op.execute(f"DROP INDEX IF EXISTS {dropped_index}")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({names})")
