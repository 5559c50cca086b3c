"""The audit's reads: every value of a row as stored, its type and shape checked.

A row changed behind the log's back can hold anything the database lets in:
SQLite keeps TEXT in a BLOB column or an integer in a time column, PostgreSQL
casts a text literal to a ``bytea`` of any length. SQLAlchemy's result
processing would fail on such values while fetching the rows (a ``TypeError``
or ``ValueError`` naming nothing), so the audit selects columns raw
(:func:`raw`) and converts each value here with the column's own result
processor (:class:`Reader`). A value that does not convert, or converts to the
wrong Python type, is a :class:`BadValue` naming the table, the row, the column
and what it holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import Label
from sqlalchemy.types import NullType

__all__ = ["BadValue", "Reader", "describe", "raw"]

SHOWN = 60  # characters of a bad value quoted in a finding


class BadValue(Exception):
    """A stored value of the wrong type or shape: ``table row key: column c holds ...``."""

    def __init__(self, table: str, key: object, column: str, problem: str) -> None:
        super().__init__(f"{table} row {key}: column {column} holds {problem}")
        self.table = table
        self.key = key


def describe(value: object) -> str:
    """A stored value as a finding shows it: its SQL kind and a bounded excerpt."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"{len(bytes(value))} bytes"
    if isinstance(value, str):
        shown = value if len(value) <= SHOWN else value[:SHOWN] + "..."
        return f"TEXT {shown!r}"
    if isinstance(value, bool):
        return f"BOOLEAN {value}"
    if isinstance(value, int):
        return f"INTEGER {value}"
    if isinstance(value, float):
        return f"REAL {value}"
    return f"{type(value).__name__} {str(value)[:SHOWN]!r}"


def raw(attribute: InstrumentedAttribute[Any]) -> Label[Any]:
    """``attribute`` selected as the driver returns it, without result processing."""
    column = attribute.property.columns[0]
    return type_coerce(attribute, NullType()).label(f"{column.table.name}_{column.key}")


_EXPECTED: dict[type, str] = {
    bytes: "bytes",
    int: "an integer",
    str: "text",
    datetime: "a date and time",
}


class Reader:
    """Converts raw values of mapped columns, as the column type would, or says what is wrong."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._plans: dict[Column[Any], tuple[Callable[[Any], Any] | None, type | None]] = {}

    def value(self, attribute: InstrumentedAttribute[Any], stored: object, key: object) -> Any:
        """``stored`` (a raw value of ``attribute`` in row ``key``) as its column type reads it."""
        column = attribute.property.columns[0]
        table = str(column.table.name)
        if stored is None:
            if column.nullable:
                return None
            raise BadValue(table, key, column.name, "NULL in a NOT NULL column")
        process, python = self._plan(column)
        try:
            value = stored if process is None else process(stored)
        except (TypeError, ValueError, OverflowError):
            value = _Unreadable
        if value is _Unreadable or (
            python is not None
            and (not isinstance(value, python) or (python is int and isinstance(value, bool)))
        ):
            expected = _EXPECTED.get(python or object, "JSON")
            raise BadValue(table, key, column.name, f"{describe(stored)}, expected {expected}")
        return value

    def digest(self, attribute: InstrumentedAttribute[Any], stored: object, key: object) -> bytes:
        """A SHA-256 hash column: 32 bytes."""
        value: bytes = self.value(attribute, stored, key)
        if len(value) != 32:
            column = attribute.property.columns[0]
            raise BadValue(
                str(column.table.name),
                key,
                column.name,
                f"{len(value)} bytes, expected 32 bytes (a SHA-256 hash)",
            )
        return value

    def json_object(
        self, attribute: InstrumentedAttribute[Any], stored: object, key: object
    ) -> dict[str, Any]:
        """A text column holding a JSON object (an event body)."""
        text: str = self.value(attribute, stored, key)
        column = attribute.property.columns[0]
        try:
            found = json.loads(text)
        except (ValueError, RecursionError) as error:
            reason = str(error) if isinstance(error, ValueError) else "nested too deep"
            problem = f"{len(text)} characters that are not JSON ({reason})"
            raise BadValue(str(column.table.name), key, column.name, problem) from None
        if not isinstance(found, dict):
            shown = text if len(text) <= SHOWN else text[:SHOWN] + "..."
            problem = f"{shown!r}, expected a JSON object"
            raise BadValue(str(column.table.name), key, column.name, problem)
        return found

    def _plan(self, column: Column[Any]) -> tuple[Callable[[Any], Any] | None, type | None]:
        plan = self._plans.get(column)
        if plan is None:
            kind = column.type
            process = kind.dialect_impl(self.dialect).result_processor(self.dialect, None)
            if isinstance(kind, JSON):
                python: type | None = None  # any JSON value
            elif isinstance(kind, LargeBinary):
                python = bytes
            else:
                python = kind.python_type
            plan = self._plans[column] = (process, python)
        return plan


class _Unreadable:
    """What a value that its column type cannot read converts to."""
