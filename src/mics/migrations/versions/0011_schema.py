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

On PostgreSQL ``epcis_event`` becomes partitioned by record time (``mics.trace.partitions``):
a month a partition, created here for the months the stored events span and by capture
for the months it writes, and a ``DEFAULT`` partition for any other row. Its primary key
becomes ``(id, record_time)`` and ``event_id``'s unique constraint a plain index (a unique
index must include the partition key; capture checks duplicates under the log's lock);
the two foreign keys into it go (a foreign key must point at a unique key).

Revision ID: 0011_schema
Revises: 0010_custody
Create Date: 2026-12-03 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mics.trace.partitions import create_month, month_start

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
    _partition_events()


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        _unpartition_events()
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


_EVENT_FKS = (
    ("epcis_event_epc", "fk_epcis_event_epc_event_epcis_event"),
    ("epcis_event_biztx", "fk_epcis_event_biztx_event_epcis_event"),
)
_EVENT_INDEXES = (
    "CREATE INDEX ix_epcis_event_biz_location ON epcis_event (biz_location)",
    "CREATE INDEX ix_epcis_event_disposition ON epcis_event (disposition)",
    "CREATE INDEX ix_epcis_event_read_point ON epcis_event (read_point)",
    "CREATE INDEX ix_epcis_event_record ON epcis_event (record_time, id)",
    "CREATE INDEX ix_epcis_event_time_id ON epcis_event (event_time, id)",
)
_EVENT_REFERENCES = (
    "ALTER TABLE epcis_event ADD CONSTRAINT fk_epcis_event_capture_id_capture_job "
    "FOREIGN KEY (capture_id) REFERENCES capture_job (id)",
    "ALTER TABLE epcis_event ADD CONSTRAINT fk_epcis_event_partner_id_partner "
    "FOREIGN KEY (partner_id) REFERENCES partner (id)",
)


def _partition_events() -> None:
    """PostgreSQL: ``epcis_event`` made anew, partitioned by month of record time."""
    for table, name in _EVENT_FKS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    op.execute("ALTER TABLE epcis_event RENAME TO epcis_event_0010")
    op.execute(
        "CREATE TABLE epcis_event (LIKE epcis_event_0010 INCLUDING DEFAULTS) "
        "PARTITION BY RANGE (record_time)"
    )
    _move_id_sequence("epcis_event_0010")
    op.execute("CREATE TABLE epcis_event_default PARTITION OF epcis_event DEFAULT")
    bind = op.get_bind()
    first, last = bind.execute(
        sa.text("SELECT min(record_time), max(record_time) FROM epcis_event_0010")
    ).one()
    if first is not None:
        month = month_start(first)
        while month <= last:
            create_month(bind, month)
            month = month_start(month, 1)
    op.execute("INSERT INTO epcis_event SELECT * FROM epcis_event_0010")
    op.execute("DROP TABLE epcis_event_0010")  # its indexes and constraints with it
    op.execute(
        "ALTER TABLE epcis_event ADD CONSTRAINT pk_epcis_event PRIMARY KEY (id, record_time)"
    )
    op.execute("CREATE INDEX ix_epcis_event_event_id ON epcis_event (event_id)")
    for statement in (*_EVENT_INDEXES, *_EVENT_REFERENCES):
        op.execute(statement)


def _unpartition_events() -> None:
    """PostgreSQL: ``epcis_event`` one table again, with its keys as 0010 had them."""
    op.execute("ALTER TABLE epcis_event RENAME TO epcis_event_0011")
    op.execute("CREATE TABLE epcis_event (LIKE epcis_event_0011 INCLUDING DEFAULTS)")
    _move_id_sequence("epcis_event_0011")
    op.execute("INSERT INTO epcis_event SELECT * FROM epcis_event_0011")
    op.execute("DROP TABLE epcis_event_0011")  # and every partition
    op.execute("ALTER TABLE epcis_event ADD CONSTRAINT pk_epcis_event PRIMARY KEY (id)")
    op.execute("ALTER TABLE epcis_event ADD CONSTRAINT uq_epcis_event_event_id UNIQUE (event_id)")
    for statement in (*_EVENT_INDEXES, *_EVENT_REFERENCES):
        op.execute(statement)
    for table, name in _EVENT_FKS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (event) "
            "REFERENCES epcis_event (id)"
        )


def _move_id_sequence(old: str) -> None:
    """The ``id`` sequence (a ``BIGSERIAL``'s) now belongs to the new ``epcis_event``: it
    would go with the ``old`` table, and the new one's ``id`` default names it."""
    sequence = op.get_bind().scalar(sa.text(f"SELECT pg_get_serial_sequence('{old}', 'id')"))
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY epcis_event.id")
