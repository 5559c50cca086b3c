"""Hot statements run straight on a DBAPI cursor: compiled once per dialect, bound by hand.

``Connection.execute`` costs a statement its execution context, cache-key
generation and result proxy. On the tag-scan path (three statements a scan,
thousands of scans a second) that was most of the scan: the item read took
201 us through SQLAlchemy Core and 23 us as the same SQL on the ``sqlite3``
cursor (``bench/scan.py`` machine, 2,000 reads each). ``Statement`` keeps
SQLAlchemy as the author of the SQL (the Core construct, compiled for the
connection's dialect) and of the type conversions (the column types' own bind
and result processors: SQLite stores ``DateTime`` as text in SQLAlchemy's
format, so rows written here and through the ORM compare alike), and leaves
only the driver call per execution.

Use it only where a profile shows the framework dominating; everywhere else the
ORM and Core read better.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

__all__ = ["Statement", "dbapi_connection", "invalidate_if_disconnected"]

_Processor = Callable[[Any], Any] | None


class _Plan:
    __slots__ = ("binds", "columns", "defaults", "names", "positional", "results", "sql")

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        self.names: list[str] = (
            list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        )
        # values the construct carries itself (SQLite's ``OFFSET ?`` after a LIMIT, literals)
        self.defaults: dict[str, Any] = {
            name: compiled.binds[name].effective_value
            for name in dict.fromkeys(self.names)
            if not compiled.binds[name].required
        }
        self.binds: dict[str, _Processor] = {
            name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in dict.fromkeys(self.names)
        }
        # the SELECT list, or what an INSERT, UPDATE or DELETE RETURNING gives back
        self.columns = list(getattr(statement, "exported_columns", ()))
        self.results: list[_Processor] | None = None  # from the first result's type codes

    def bind(self, params: Mapping[str, Any]) -> Any:
        """The driver's parameters: a tuple in placeholder order, or a dict by name."""
        values = {}
        defaults = self.defaults
        for name, process in self.binds.items():
            value = params[name] if name in params or name not in defaults else defaults[name]
            values[name] = value if process is None or value is None else process(value)
        if self.positional:
            return tuple(values[name] for name in self.names)
        return values

    def result_processors(self, dialect: Dialect, description: Any) -> list[_Processor]:
        if self.results is None:
            self.results = [
                column.type.dialect_impl(dialect).result_processor(dialect, found[1])
                for column, found in zip(self.columns, description, strict=True)
            ]
        return self.results


class Statement:
    """A Core statement with ``bindparam`` names, run on a DBAPI connection.

    ``execute(conn, dialect, params)`` runs it and returns the row count;
    ``rows(...)`` returns every row as a tuple, converted by the selected
    columns' types.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def execute(self, connection: Any, dialect: Dialect, params: Mapping[str, Any]) -> int:
        cursor = self._run(connection, dialect, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(
        self, connection: Any, dialect: Dialect, params: Sequence[Mapping[str, Any]]
    ) -> None:
        """Run it once per parameter set, in one driver ``executemany``."""
        if not params:
            return
        plan = self._plan(dialect)
        cursor = connection.cursor()
        try:
            cursor.executemany(plan.sql, [plan.bind(one) for one in params])
        finally:
            cursor.close()

    def _run(self, connection: Any, dialect: Dialect, params: Mapping[str, Any]) -> Any:
        plan = self._plan(dialect)
        cursor = connection.cursor()
        cursor.execute(plan.sql, plan.bind(params))
        return cursor

    def rows(
        self, connection: Any, dialect: Dialect, params: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        cursor = self._run(connection, dialect, params)
        try:
            found = cursor.fetchall()
            processors = self._plan(dialect).result_processors(dialect, cursor.description)
        finally:
            cursor.close()
        if not any(processors):
            return [tuple(row) for row in found]
        return [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip(row, processors, strict=True)
            )
            for row in found
        ]


@contextmanager
def dbapi_connection(engine: Engine) -> Iterator[Any]:
    """A pooled DBAPI connection: committed by the caller, rolled back when returned."""
    proxy = engine.raw_connection()
    try:
        yield proxy.driver_connection
    except Exception as error:
        # a connection the server closed (restart, failover) leaves the pool, not the next
        # request: what SQLAlchemy's own execution does for the ORM and Core (the error
        # may come wrapped, as the scan's ``Unavailable``)
        invalidate_if_disconnected(engine, proxy, error)
        raise
    finally:
        proxy.close()  # the pool rolls back whatever was not committed


def invalidate_if_disconnected(engine: Engine, proxy: Any, error: BaseException) -> None:
    """Drop ``proxy``'s connection from the pool when ``error`` (or its cause) says it is dead."""
    found = error if isinstance(error, engine.dialect.loaded_dbapi.Error) else error.__cause__
    if isinstance(found, engine.dialect.loaded_dbapi.Error) and engine.dialect.is_disconnect(
        found, proxy.driver_connection, None
    ):
        proxy.invalidate(found)
