"""Frozen copies of trace's table rows: what its read API hands the areas above.

No table class leaves its area (ARCHITECTURE.md): ``trace.capture_jobs.job`` answers a
``CaptureJob``, ``trace.query.get_event`` a ``StoredEvent``, each a frozen dataclass
whose fields are columns of the row, by the same names. ``frozen_copy`` makes one, so
that a field added to such a class is copied without a line more, and one the row lacks
fails at the first copy (``AttributeError``) rather than being left out.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["frozen_copy"]

Copy = TypeVar("Copy", bound="DataclassInstance")


def frozen_copy(kind: type[Copy], row: object, **given: Any) -> Copy:
    """A ``kind`` whose fields are ``row``'s attributes of the same names, but for those
    ``given`` (a value changed on the way, as a JSON list copied out of its row)."""
    values = {name: getattr(row, name) for name in _names(kind) if name not in given}
    return kind(**values, **given)


@cache
def _names(kind: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in fields(kind))
