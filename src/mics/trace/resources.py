"""The EPCIS 2.0 REST binding's top-level resources: the values the caller's events name.

The binding's OpenAPI (``REST Bindings/openapi.json``) lists, beside ``/events``, the
collections ``/eventTypes``, ``/epcs``, ``/bizSteps``, ``/bizLocations``, ``/readPoints``
and ``/dispositions``: each answers a ``Collection`` of the values known to the repository,
a page at a time (``perPage``, ``nextPageToken``), and each value is a resource whose
sub-resource ``events`` is the query the value stands for (``MATCH_anyEPC``,
``EQ_bizStep``, ``EQ_bizLocation``, ``EQ_readPoint``, ``EQ_disposition``, ``eventType``).

Values come only from the events the viewer may see (``mics.trace.viewer``): a
partner never learns another partner's locations or products from a list, and a value
none of its events names is "not found" (404), as one that no event names. Event types
are the five of EPCIS 2.0 §7.4, the same for every caller. Pages run in value order and
continue after the last value seen, so a page never repeats one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, union
from sqlalchemy.orm import Session

from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.trace import json_text
from mics.trace.canonical_uri import canonical
from mics.trace.cbv import bare_term
from mics.trace.query import DEFAULT_PER_PAGE, MAX_PER_PAGE
from mics.trace.store import EventEpcRow, EventRow
from mics.trace.validate import EVENT_TYPES
from mics.trace.viewer import Viewer, visible, visible_parts

__all__ = ["FILTERS", "RESOURCES", "ValuePage", "check_value", "values"]

INSTANCE_ROLES = ("epc", "parent", "input", "output")  # the roles MATCH_anyEPC looks in
# resource -> the SimpleEventQuery parameter its ``events`` sub-resource stands for
FILTERS = {
    "eventTypes": "eventType",
    "epcs": "MATCH_anyEPC",
    "bizSteps": "EQ_bizStep",
    "bizLocations": "EQ_bizLocation",
    "readPoints": "EQ_readPoint",
    "dispositions": "EQ_disposition",
}
RESOURCES = tuple(FILTERS)
_COLUMNS: dict[str, Any] = {
    "bizSteps": EventRow.biz_step,
    "bizLocations": EventRow.biz_location,
    "readPoints": EventRow.read_point,
    "dispositions": EventRow.disposition,
}


@dataclass(frozen=True)
class ValuePage:
    """One page of a resource's values, in order, and the token of the next page (or None)."""

    values: list[str]
    next_token: str | None


def stored_form(resource: str, value: str) -> str:
    """``value`` as the repository stores and queries it: an EPC in canonical GS1 Digital
    Link form, a CBV business step or disposition bare ('shipping'), others as written."""
    if resource == "epcs":
        return canonical(value)
    if resource in ("bizSteps", "dispositions"):
        return bare_term(value)
    return value


def values(
    db: Database,
    resource: str,
    viewer: Viewer,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    token: str | None = None,
) -> ValuePage:
    """One page of the values of ``resource`` that the events ``viewer`` may see name."""
    _check_resource(resource)
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            "perPage out of range",
            field="perPage",
            value=per_page,
            expected=f"an integer in 1..{MAX_PER_PAGE}",
        )
    after = _decode(token, resource) if token is not None else None
    if resource == "eventTypes":
        found = [t for t in EVENT_TYPES if after is None or t > after]
        found = sorted(found)[: per_page + 1]
    else:
        column = _column(resource)
        statement = _selecting(resource, viewer, column.is_not(None))
        if after is not None:
            statement = statement.where(column > after)
        with db.read() as s:
            found = _first_values(s, statement, column, viewer, per_page + 1)
    if len(found) <= per_page:
        return ValuePage(found, None)
    return ValuePage(found[:per_page], _encode(resource, found[per_page - 1]))


def check_value(db: Database, resource: str, value: str, viewer: Viewer) -> str:
    """``value``'s stored form, if an event ``viewer`` may see names it; else ``NotFound``."""
    _check_resource(resource)
    stored = stored_form(resource, value)
    if resource == "eventTypes":
        known = stored in EVENT_TYPES
    else:
        # the value's own index drives: each event it finds is checked for the viewer
        statement = visible(_selecting(resource, viewer, _column(resource) == stored), viewer)
        statement = statement.limit(1)
        with db.read() as s:
            known = s.scalar(statement) is not None
    if not known:
        raise NotFound(
            f"no {resource} value {value!r} in the events you may see",
            field=resource,
            value=value,
        )
    return stored


def _column(resource: str) -> Any:
    return EventEpcRow.epc if resource == "epcs" else _COLUMNS[resource]


def _selecting(resource: str, viewer: Viewer, condition: ColumnElement[bool]) -> Any:
    """The statement selecting ``resource``'s column where ``condition`` holds, from the
    events (joined to them when a partner's view needs their owner)."""
    column = _column(resource)
    statement = select(column).where(condition)
    if resource == "epcs":
        statement = statement.where(EventEpcRow.role.in_(INSTANCE_ROLES))
        if viewer.partner is None:  # every event: the (epc, role, event) index alone
            return statement
        statement = statement.join(EventRow, EventRow.id == EventEpcRow.event)
    return statement


def _first_values(s: Session, statement: Any, column: Any, viewer: Viewer, limit: int) -> list[str]:
    """The first ``limit`` distinct values of ``statement`` in the events ``viewer`` sees,
    in value order: the first of each of ``visible_parts``, merged by the database (whose
    collation orders the values and the pages' ``column > after``)."""
    parts = [
        part.distinct().order_by(column).limit(limit)
        for part in visible_parts(s, statement, viewer)
    ]
    if len(parts) > 1:
        merged = union(*(select(part.subquery()) for part in parts)).subquery()
        value = merged.c[0]
        parts = [select(value).order_by(value).limit(limit)]
    return [str(v) for part in parts for v in s.scalars(part)]


def _check_resource(resource: str) -> None:
    if resource not in FILTERS:
        raise NotFound(
            f"no top-level resource {resource!r}",
            field="resource",
            value=resource,
            expected="one of " + ", ".join(RESOURCES),
        )


def _encode(resource: str, last: str) -> str:
    raw = json.dumps({"r": resource, "after": last}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(token: str, resource: str) -> str:
    try:
        data = json_text.load(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or data.get("r") != resource:
            raise ValueError("a token of another resource")
        after = data["after"]
        if not isinstance(after, str) or "\x00" in after:  # no column holds a NUL
            raise TypeError("the position is a value")
        return after
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError, InvalidInput):
        raise InvalidInput(
            "the nextPageToken is not one this repository issued for this list",
            field="nextPageToken",
            value=token[:40],
            expected=f"the token from a previous page of /{resource}'s Link header",
        ) from None
