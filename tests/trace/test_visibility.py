"""Who sees which events: a partner sees its own and those naming it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import exists, or_, select, text
from sqlalchemy.orm import aliased
from tests.trace.test_capture import NOW, doc, observe

from mics import registry
from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace import capture, query, resources
from mics.trace import viewer as viewer_module
from mics.trace.store import EventEpcRow, EventRow
from mics.trace.viewer import visible_parts
from mics.trace.visibility import viewer_for


def test_partner_sees_own_events_and_those_naming_it(repo: Database) -> None:
    mine = observe("M1")
    to_workshop = observe("M2") | {
        "destinationList": [
            {"type": "owning_party", "destination": "https://id.gs1.org/417/8012345900022"}
        ]
    }
    capture.capture_document(repo, doc([mine, to_workshop]), "tannery", now=NOW)
    tannery = query.run(repo, {}, viewer_for(repo, "tannery"))
    workshop = query.run(repo, {}, viewer_for(repo, "workshop"))
    assert len(tannery.events) == 2
    assert [e["epcList"][0][-2:] for e in workshop.events] == ["M2"]


# --- the two-part visibility (issue 22 item 4) against the predicate it replaced ---------

DL = "https://id.gs1.org"
TANNERY, WORKSHOP = "8012345900015", "8012345900022"  # conftest's partners' GLNs


def _event(serial: str, minute: int, step: str = "shipping", **parties: str) -> dict[str, Any]:
    """An ObjectEvent of ``serial``; ``parties`` maps source/destination to a GLN key
    ("417/<gln>" a party, "414/<gln>" a location)."""
    event = observe(serial, step=step, minute=minute)
    for side, key in parties.items():
        kind = "owning_party" if key.startswith("417/") else "location"
        event[f"{side}List"] = [{"type": kind, side: f"{DL}/{key}"}]
    return event


def _mixed_store(repo: Database) -> None:
    """Own events, events naming a partner as source or destination (as a party and as a
    location), both at once, events of another partner, and events whose read point is
    a partner's location (not a naming role); event and record times out of capture
    order, with ties, so that every order differs from capture order."""
    tannery_first = [
        _event("T1", 30),
        _event("T2", 10, destination=f"417/{WORKSHOP}"),
        _event("T3", 10, source=f"414/{TANNERY}"),  # own and naming itself: seen once
        _event("T4", 50, step="receiving"),
    ]
    workshop = [
        _event("W1", 20, source=f"417/{TANNERY}"),
        _event("W2", 40),  # read point: the tannery's location, not a naming role
        _event("W3", 10, destination=f"414/{TANNERY}", step="receiving"),
        _event("W4", 5, source=f"417/{WORKSHOP}", destination=f"417/{TANNERY}"),
        _event("W5", 59, source=f"417/{WORKSHOP}"),
    ]
    tannery_later = [_event("T5", 20, source=f"417/{WORKSHOP}"), _event("T6", 0)]
    capture.capture_document(repo, doc(tannery_first), "tannery", now=NOW)
    capture.capture_document(repo, doc(workshop), "workshop", now=NOW - timedelta(hours=2))
    capture.capture_document(repo, doc(tannery_later), "tannery", now=NOW - timedelta(hours=1))


def _old_visible(statement: Any, viewer: query.Viewer) -> Any:
    """The rule as one condition, as the repository checked it before: own OR named."""
    if viewer.partner is None:
        return statement
    party = aliased(EventEpcRow)
    named = (
        exists()
        .where(
            party.event == EventRow.id,
            party.role.in_(("source", "destination")),
            party.epc.in_(viewer.names or ("-",)),
        )
        .correlate(EventRow)
    )
    return statement.where(or_(EventRow.partner_id == viewer.partner, named))


def _old_order(repo: Database, params: dict[str, str], viewer: query.Viewer) -> list[str]:
    """The event ids the old predicate gave for ``params``, in the query's order."""
    order = query.ORDER_FIELDS.get(params.get("orderBy", ""))
    keys = [order, EventRow.id] if order is not None else [EventRow.id]
    descending = params.get("orderDirection") == "DESC"
    statement = _old_visible(query.build(params), viewer).order_by(
        *[k.desc() if descending else k.asc() for k in keys]
    )
    with repo.read() as s:
        return [row.event_id for row in s.scalars(statement)]


def _pages(repo: Database, params: dict[str, str], viewer: query.Viewer) -> list[list[str]]:
    pages = []
    page = query.run(repo, params, viewer)
    while True:
        pages.append([e["eventID"] for e in page.events])
        if page.next_token is None:
            return pages
        page = query.run(repo, {"nextPageToken": page.next_token}, viewer)


@pytest.fixture(params=["few", "many"])
def part_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each part read through its own index ("few"), and, with ``FEW`` at 1, along the
    read's order with the part's condition checked per row ("many")."""
    if request.param == "many":
        monkeypatch.setattr(viewer_module, "FEW", 1)
    return str(request.param)


QUERIES: list[dict[str, str]] = [
    {},
    {"orderDirection": "DESC"},
    {"orderBy": "eventTime"},
    {"orderBy": "eventTime", "orderDirection": "DESC"},
    {"orderBy": "recordTime"},
    {"orderBy": "recordTime", "orderDirection": "DESC"},
    {"EQ_bizStep": "receiving"},
    {"EQ_readPoint": f"{DL}/414/{TANNERY}", "orderBy": "eventTime"},
    {"MATCH_epc": f"{DL}/01/08012345000012/21/W4"},
    {"GE_eventTime": "2026-03-01T10:10:00+01:00", "LT_eventTime": "2026-03-01T10:45:00+01:00"},
    {"eventType": "ObjectEvent", "orderBy": "recordTime", "orderDirection": "DESC"},
]


def test_partners_see_own_and_named_events_once_and_nothing_else(
    repo: Database, part_size: str
) -> None:
    _mixed_store(repo)
    serials = {}
    for partner in ("tannery", "workshop"):
        page = query.run(repo, {"perPage": "100"}, viewer_for(repo, partner))
        serials[partner] = [e["epcList"][0].rsplit("/", 1)[1] for e in page.events]
    # capture order: T1-T4, W1-W5, T5-T6
    assert serials["tannery"] == ["T1", "T2", "T3", "T4", "W1", "W3", "W4", "T5", "T6"]
    assert serials["workshop"] == ["T2", "W1", "W2", "W3", "W4", "W5", "T5"]


@pytest.mark.parametrize("per_page", ["1", "2", "3", "30"])
def test_partner_pages_are_those_of_the_own_or_named_predicate(
    repo: Database, per_page: str, part_size: str
) -> None:
    _mixed_store(repo)
    viewers = [viewer_for(repo, "tannery"), viewer_for(repo, "workshop"), query.Viewer(None)]
    size = int(per_page)
    for viewer in viewers:
        for params in QUERIES:
            expected = _old_order(repo, params, viewer)
            assert expected, f"{params} finds nothing for {viewer.partner}: a weak case"
            pages = _pages(repo, {**params, "perPage": per_page}, viewer)
            chunks = [expected[i : i + size] for i in range(0, len(expected), size)]
            assert pages == chunks, (viewer.partner, params)


def _old_values(repo: Database, resource: str, viewer: query.Viewer) -> list[str]:
    column = EventEpcRow.epc if resource == "epcs" else getattr(EventRow, COLUMNS[resource])
    statement = select(column).where(column.is_not(None))
    if resource == "epcs":
        statement = statement.where(EventEpcRow.role.in_(resources.INSTANCE_ROLES)).join(
            EventRow, EventRow.id == EventEpcRow.event
        )
    statement = _old_visible(statement, viewer).distinct().order_by(column)
    with repo.read() as s:
        return [str(v) for v in s.scalars(statement)]


COLUMNS = {  # a resource's column of epcis_event
    "bizSteps": "biz_step",
    "bizLocations": "biz_location",
    "readPoints": "read_point",
    "dispositions": "disposition",
}


@pytest.mark.parametrize("per_page", [1, 2, 30])
def test_partner_value_lists_are_those_of_the_own_or_named_predicate(
    repo: Database, per_page: int, part_size: str
) -> None:
    _mixed_store(repo)
    for partner in ("tannery", "workshop"):
        viewer = viewer_for(repo, partner)
        for resource in ("epcs", "bizSteps", "readPoints"):
            expected = _old_values(repo, resource, viewer)
            pages, token = [], None
            while True:
                page = resources.values(repo, resource, viewer, per_page=per_page, token=token)
                pages.append(page.values)
                if (token := page.next_token) is None:
                    break
            chunks = [expected[i : i + per_page] for i in range(0, len(expected), per_page)]
            assert pages == chunks, (partner, resource)
    epcs = resources.values(repo, "epcs", viewer_for(repo, "workshop"), per_page=30).values
    assert [e.rsplit("/", 1)[1] for e in epcs] == ["T2", "T5", "W1", "W2", "W3", "W4", "W5"]


PLANS = [  # part sizes, query, (index the own part reads, index the named part reads)
    ("few", {}, ("ix_epcis_event_partner (partner_id=?)", "ix_epcis_event_epc_epc_role_event")),
    (
        "few",
        {"orderBy": "eventTime"},
        ("ix_epcis_event_partner (partner_id=?)", "ix_epcis_event_epc_epc_role_event"),
    ),
    ("many", {}, ("ix_epcis_event_partner (partner_id=?)", "SCAN epcis_event")),
    (
        "many",
        {"EQ_readPoint": f"{DL}/414/{TANNERY}"},
        ("ix_epcis_event_read_point", "ix_epcis_event_read_point"),
    ),
    ("many", {"orderBy": "eventTime"}, ("ix_epcis_event_time_id", "ix_epcis_event_time_id")),
]


@pytest.mark.parametrize(("size", "params", "indexes"), PLANS)
def test_sqlite_reads_each_part_through_the_index_that_suits_its_size(
    sqlite_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    size: str,
    params: dict[str, str],
    indexes: tuple[str, str],
) -> None:
    """A part with few events comes through its own index (the partner's in capture
    order, the identifiers'); a part with many along the read's own index, never by a
    sort of all of a partner's events (SQLite keeps no statistics: the plan is the rule)."""
    ensure_instance(sqlite_db, "op")
    registry.create_partner(
        sqlite_db,
        PartnerIn(id="tannery", name="tannery", kind="enterprise", is_public=False, gln=TANNERY),
    )
    capture.capture_document(
        sqlite_db, doc([_event("T1", 1, source=f"417/{TANNERY}")]), "tannery", now=NOW
    )
    if size == "many":
        monkeypatch.setattr(viewer_module, "FEW", 1)
    order = query.ORDER_FIELDS.get(params.get("orderBy", ""))
    keys = [order, EventRow.id] if order is not None else [EventRow.id]
    plans = []
    with sqlite_db.read() as s:
        for part in visible_parts(s, query.build(params), viewer_for(sqlite_db, "tannery")):
            compiled = (
                part.order_by(*keys)
                .limit(31)
                .compile(sqlite_db.engine, compile_kwargs={"literal_binds": True})
            )
            rows = s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            plans.append(" | ".join(str(row[-1]) for row in rows))
    for plan, index in zip(plans, indexes, strict=True):
        assert index in plan, plans
        assert "TEMP B-TREE FOR ORDER BY" not in plan or size == "few", plans
    assert not re.search(r"SCAN epcis_event( \||$)", plans[0]), plans  # never every row
