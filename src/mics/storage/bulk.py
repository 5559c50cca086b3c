"""Bulk inserts of plain tuples, straight to the driver: executemany (SQLite), COPY (psycopg).

The ORM's bulk insert builds a parameter dict and runs the type machinery for every row;
for the capture path (tens of thousands of rows a second) that costs more than SQLite
spends storing them. ``insert_rows`` renders one ``INSERT`` per table and column list,
applies only the bind processors a dialect really needs (SQLite stores ``DateTime`` as
text, in SQLAlchemy's own format, so that queries compare like with like) and hands
the tuples to the driver in the caller's transaction. On PostgreSQL a batch of
``COPY_FROM`` rows or more goes through ``COPY ... FROM STDIN`` (psycopg 3's
``cursor.copy``): an ``executemany`` of the same rows, even pipelined, runs each
``INSERT`` through the executor, and capture ran at 0.56-0.58 of it (issue 22); a few
rows (a tag scan's verdict) keep the one round trip of an ``INSERT``.
``parameter_mark`` is the driver's positional mark, for the few hand-written statements
of the capture path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import LargeBinary, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

__all__ = ["insert_rows", "parameter_mark"]

# On PostgreSQL, batches of at least this many rows are sent with COPY: below it, the extra
# round trip of COPY's start costs more than the INSERTs it saves.
COPY_FROM = 8

_Plan = tuple[str, str | None, tuple[tuple[int, Callable[[Any], Any]], ...]]
_PLANS: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` in one executemany."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    key = (dialect.name, table.name, tuple(columns))
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _plan(table, tuple(columns), dialect)
    sql, copy_sql, processors = plan
    if processors:
        converted = []
        # A column often repeats one object (a capture's record time): converted once.
        last: list[Any] = [None] * len(processors)
        done: list[Any] = [None] * len(processors)
        for row in rows:
            values = list(row)
            for i, (at, process) in enumerate(processors):
                value = values[at]
                if value is not None:
                    if value is not last[i]:
                        last[i], done[i] = value, process(value)
                    values[at] = done[i]
            converted.append(tuple(values))
        rows = converted
    if copy_sql is not None and len(rows) >= COPY_FROM:
        driver: Any = connection.connection.driver_connection  # psycopg's, in this transaction
        with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(sql, list(rows))


def parameter_mark(dialect: Dialect) -> str:
    """The driver's positional parameter mark: ``?`` (sqlite3) or ``%s`` (psycopg)."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _plan(table: Table, columns: tuple[str, ...], dialect: Any) -> _Plan:
    quote = dialect.identifier_preparer.quote
    mark = parameter_mark(dialect)
    names = ", ".join(quote(c) for c in columns)
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    copy_sql = None
    if dialect.driver == "psycopg":
        copy_sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    processors = []
    for at, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, LargeBinary):
            continue  # both drivers take bytes as they are
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((at, process))
    return sql, copy_sql, tuple(processors)
