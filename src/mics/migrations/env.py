"""Alembic environment: runs on the connection MICS hands over, or on a URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mics.db import Base, make_engine
from mics.schema import import_tables

import_tables()
target_metadata = Base.metadata
config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///./mics.db")
    with engine.begin() as conn:
        _run(conn)
