"""The trace page's pieces without a server: the map's outlines and projection, the graph,
the filters' translation into EPCIS query parameters, lots and recalls."""

from __future__ import annotations

import re

import pytest

from mics.cli.trace_view import Labels
from mics.db import Database
from mics.errors import InvalidInput
from mics.registry.places import city_positions, places_by_gln
from mics.trace import genealogy, lookup
from mics.trace.query import Viewer
from mics.web.event_cards import card, when
from mics.web.events_pages import query_params
from mics.web.trace_graph import graph_svg
from mics.web.trace_map import Pin, country_rings, map_svg, view_of
from mics.web.trace_pages import _pins, lot_identifier, recalled_items

LOT = "urn:epc:class:lgtin:8012345.000040.H26-011"


def _inside(ring: list[tuple[float, float]], lon: float, lat: float) -> bool:
    """Even-odd rule: whether (lon, lat) lies inside ``ring``."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_the_natural_earth_outlines_put_rome_in_italy_and_not_in_france() -> None:
    countries = dict(country_rings())
    assert len(countries) == 177  # Natural Earth 1:110m admin-0 countries
    rome = city_positions()["roma"]
    assert any(_inside(ring, rome[1], rome[0]) for ring in countries["Italy"])
    assert not any(_inside(ring, rome[1], rome[0]) for ring in countries["France"])


def test_every_demo_partner_with_a_gln_has_a_place_on_the_map(demo_db: Database) -> None:
    places = places_by_gln(demo_db)
    assert places["8012345900015"].city == "Arzignano"
    assert len(places) == 13  # the demo's enterprises; universities have no GLN


def test_the_map_view_keeps_north_up_and_west_left_with_pins_inside() -> None:
    milano, napoli = Pin("Milano", 45.4642, 9.19), Pin("Napoli", 40.8518, 14.2681)
    view = view_of([milano, napoli])
    (x1, y1), (x2, y2) = view.xy(9.19, 45.4642), view.xy(14.2681, 40.8518)
    assert x1 < x2
    assert y1 < y2
    assert 0 < x1 < 640
    assert 0 < y2 < view.height
    svg = map_svg([milano, napoli], [0, 1])
    assert svg.count('class="pin"') == 2
    assert f'points="{x1:g},{y1:g} {x2:g},{y2:g}"' in svg
    assert map_svg([]) == ""


def test_the_route_visits_each_city_once_per_stay_in_time_order(demo_db: Database) -> None:
    root, extra = lookup.resolve(demo_db, LOT)
    answer = genealogy.trace(demo_db, root, "downstream", Viewer(None), extra).as_json()
    pins, route = _pins(answer["timeline"], places_by_gln(demo_db))
    assert [p.label for p in pins] == ["Arzignano", "Scandicci", "Milano"]
    assert route == [0, 1, 2]
    assert "Maison Aurora" in pins[2].note
    assert "Boutique Brera" in pins[2].note


def test_the_graph_names_things_and_draws_one_arrow_per_relation(demo_db: Database) -> None:
    answer = genealogy.trace(demo_db, LOT, "downstream", Viewer(None)).as_json()
    svg = graph_svg(answer, Labels(demo_db))
    assert svg.count("<rect") == len(answer["nodes"]) == 8
    assert svg.count('class="edge') == len(answer["edges"])
    assert "BA00001 (Borsa Aurora leather…" in svg
    lot_x = re.search(r'<title>[^<]*10/H26-011</title><rect x="([\d.]+)"', svg)
    bag_x = re.search(r'<title>[^<]*21/BA00001</title><rect x="([\d.]+)"', svg)
    assert lot_x is not None
    assert bag_x is not None
    assert float(lot_x.group(1)) < float(bag_x.group(1))  # material flows left to right
    root, extra = lookup.resolve(demo_db, "08012345000012/BA00001")
    upstream = genealogy.trace(demo_db, root, "upstream", Viewer(None), extra)
    svg = graph_svg(upstream.as_json(), Labels(demo_db))
    lot_x = re.search(r'<title>[^<]*10/H26-011</title><rect x="([\d.]+)"', svg)
    bag_x = re.search(r'<title>[^<]*21/BA00001</title><rect x="([\d.]+)"', svg)
    assert lot_x is not None
    assert bag_x is not None
    assert float(lot_x.group(1)) < float(bag_x.group(1))  # upstream too


def test_the_filters_become_simple_event_query_parameters() -> None:
    params = query_params(
        {
            "type": "ObjectEvent",
            "from": "2026-02-05T00:00",
            "to": "2026-02-09T12:30:15",
            "step": "shipping",
            "disposition": "",
            "read_point": " https://id.gs1.org/414/8012345900015 ",
            "epc": LOT,
        }
    )
    assert params == {
        "eventType": "ObjectEvent",
        "GE_eventTime": "2026-02-05T00:00:00Z",
        "LT_eventTime": "2026-02-09T12:30:15Z",
        "EQ_bizStep": "shipping",
        "EQ_readPoint": "https://id.gs1.org/414/8012345900015",
        "MATCH_anyEPCClass": LOT,
    }
    item = "https://id.gs1.org/01/08012345000012/21/BA00001"
    assert query_params({"epc": item}) == {"MATCH_anyEPC": item}


def test_a_lot_is_read_from_an_lgtin_a_digital_link_or_gtin_slash_lot() -> None:
    expected = "https://id.gs1.org/01/08012345000401/10/H26-011"
    assert lot_identifier(LOT) == expected
    assert lot_identifier(expected) == expected
    assert lot_identifier("08012345000401/H26-011") == expected
    with pytest.raises(InvalidInput) as refused:
        lot_identifier("https://id.gs1.org/01/08012345000012/21/BA00001")
    assert refused.value.context["field"] == "lot"


def test_the_recall_lists_the_five_bags_of_the_hide_lot_with_their_product(
    demo_db: Database,
) -> None:
    rows = recalled_items(demo_db, LOT, Viewer(None))
    assert [r["serial"] for r in rows] == [f"BA0000{i}" for i in range(1, 6)]
    assert {r["product"] for r in rows} == {"Borsa Aurora leather handbag"}
    assert recalled_items(demo_db, LOT, Viewer("design-quercia")) == []


def test_an_event_card_reads_what_when_where_why(demo_db: Database) -> None:
    event = {
        "type": "TransformationEvent",
        "eventTime": "2026-02-07T08:00:00.000+01:00",
        "inputQuantityList": [
            {
                "epcClass": "https://id.gs1.org/01/08012345000401/10/H26-011",
                "quantity": 420.0,
                "uom": "KGM",
            }
        ],
        "outputEPCList": ["https://id.gs1.org/01/08012345000012/21/BA00001"],
        "bizLocation": {"id": "https://id.gs1.org/414/8012345900015"},
        "bizStep": "https://ref.gs1.org/cbv/BizStep-commissioning",
        "disposition": "active",
        "destinationList": [
            {"type": "owning_party", "destination": "https://id.gs1.org/417/8012345900022"}
        ],
    }
    shown = card(event, Labels(demo_db))
    assert [(t.role, t.label, t.quantity) for t in shown.things] == [
        ("output", "BA00001 (Borsa Aurora leather handbag)", ""),
        ("input", "lot H26-011 (GTIN 08012345000401)", "420 KGM"),
    ]
    assert shown.when == "2026-02-07 08:00 +01:00"
    assert shown.location is not None
    assert shown.location[0].startswith("Conceria del Brenta")
    assert shown.sources[0][:2] == ("to (owning_party)", "Pelletteria Fiorentina S.r.l. (example)")
    assert (shown.biz_step, shown.disposition) == ("commissioning", "active")
    assert when("2026-02-07T08:00:00Z") == "2026-02-07 08:00 UTC"
