"""Whose events a read may return: the operator sees all, a partner its own and those naming it.

A partner sees the events it captured (``epcis_event.partner_id``) and the events whose
``sourceList`` or ``destinationList`` names it (``mics.trace.visibility.viewer_for``
gives its names). Two forms of that rule, for two kinds of read:

- ``visible`` adds the rule to a statement as one condition checked per row (own, or an
  identifier row naming the partner): for reads another index drives (an event id, a
  genealogy frontier, one value), where each candidate row costs one probe.
- ``visible_parts`` splits a statement into two whose union is what the partner sees:
  its own events and the events naming it. A read in some order takes the first rows of
  each part and merges them (``mics.trace.query.ordered_rows``,
  ``mics.trace.resources.values``). One condition "own OR named" on an ordered scan
  walked every event when the partner had few (4 s for a partner's first page of
  100,000 events; issue 22 item 4).

Each part is written for the plan that suits its size. Fewer than ``FEW`` events (a
bounded count through the index): the part is read through its index, own events through
``(partner_id, id)`` (migration ``0012_events``), the naming ones through the identifiers'
``(epc, role, event)``, and at most ``FEW`` rows are filtered and sorted. More: they are
common enough that the read's own order or filter index finds them quickly, as it did
before, and the part's condition is checked per row (named) or weighed as unselective
(own, ``EvenOdds``), so that an index serving the read's order or filter drives instead
of a sort of all of the partner's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from mics.trace.store import EventEpcRow, EventRow

__all__ = ["FEW", "NAMING_ROLES", "Viewer", "visible", "visible_parts"]

NAMING_ROLES = ("source", "destination")  # the roles in which an identifier names a party
# A part with fewer events is read through its index and sorted: at most FEW rows. A part
# with more is found along the read's order: ~ page size x events / FEW rows walked at
# worst. The two meet near sqrt(page size x events): 1,700 for pages of 30 among 100,000
# events, 5,500 among 1,000,000
FEW = 2_000
Statement = TypeVar("Statement", bound=Select[*tuple[Any, ...]])  # any columns


@dataclass(frozen=True)
class Viewer:
    """Whose events a query may return: all (operator) or one partner's own and named."""

    partner: str | None  # None: sees everything
    names: tuple[str, ...] = ()  # canonical identifiers naming the partner (source/destination)


def visible(query: Statement, viewer: Viewer) -> Statement:
    """``query`` (which selects from ``epcis_event``) limited to what ``viewer`` sees,
    checked row by row: for statements another condition's index drives."""
    if viewer.partner is None:
        return query
    return query.where(or_(EventRow.partner_id == viewer.partner, _naming(viewer)))


def visible_parts(s: Session, query: Statement, viewer: Viewer) -> list[Statement]:
    """Statements whose rows together are ``query``'s rows that ``viewer`` sees: ``query``
    itself for the operator; for a partner, ``query`` over its own events and ``query``
    over the events naming it (an event may be in both: merge by its id), leaving out a
    part with no events at all."""
    if viewer.partner is None:
        return [query]
    parts = []
    own: ColumnElement[bool] = EventRow.partner_id == viewer.partner
    owned = _count(s, select(EventRow.id).where(own))
    if owned:
        parts.append(query.where(own if owned < FEW else EvenOdds(own)))
    naming = select(EventEpcRow.event).where(
        EventEpcRow.role.in_(NAMING_ROLES), EventEpcRow.epc.in_(viewer.names or ("-",))
    )
    named = _count(s, naming)
    if named:
        parts.append(query.where(EventRow.id.in_(naming) if named < FEW else _naming(viewer)))
    return parts


def _count(s: Session, rows: Select[Any]) -> int:
    """How many ``rows`` there are, counting at most ``FEW``."""
    return int(s.scalar(select(func.count()).select_from(rows.limit(FEW).subquery())) or 0)


def _naming(viewer: Viewer) -> ColumnElement[bool]:
    """An identifier row of the event names the partner: one probe of its key per event."""
    party = aliased(EventEpcRow)  # its own alias: the outer query may join EventEpcRow too
    return (
        exists()
        .where(
            party.event == EventRow.id,
            party.role.in_(NAMING_ROLES),
            party.epc.in_(viewer.names or ("-",)),
        )
        .correlate(EventRow)
    )


class EvenOdds(FunctionElement[bool]):
    """A condition the SQLite planner takes as true for half the rows (``likelihood``).

    SQLite keeps no statistics here (no ``ANALYZE``) and guesses that an equality on an
    indexed column matches ~10 rows, so ``partner_id = ?`` would win over every other
    index: a partner owning most events would walk them all to find one read point, or
    sort them all for a page in event time. At even odds the partner's index drives only
    where nothing more selective does (a bare page in capture order), and the other
    conditions' indexes drive as before. PostgreSQL has statistics and reads the plain
    condition."""

    name = "even_odds"  # untyped: a Boolean would render "likelihood(...) = 1" on SQLite
    inherit_cache = True

    def __init__(self, condition: ColumnElement[bool]) -> None:
        super().__init__(condition)


@compiles(EvenOdds)
def _plain(element: EvenOdds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(EvenOdds, "sqlite")
def _sqlite(element: EvenOdds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.5)"
