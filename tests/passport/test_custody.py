"""A passport cites only its product's chain of custody: no partner writes itself into it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support import epcis_document

from mics.db import Database
from mics.passport.view import custody_chain, passport_json
from mics.registry import get_partner
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.trace.capture import capture_document

BAG, BASE, DL = "08012345000012", "https://mics.test", "https://id.gs1.org"


def _doc(*events: dict[str, Any]) -> dict[str, Any]:
    return epcis_document(list(events))


def _event(step: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"{DL}/01/{BAG}/21/BA00001"],
        "action": "OBSERVE",
        "bizStep": step,
    } | extra


def _party(db: Database, partner: str) -> str:
    return f"{DL}/417/{get_partner(db, partner).gln}"


@pytest.fixture
def registry_db(sqlite_db: Database) -> Database:
    ensure_instance(sqlite_db, "mics-operator")
    load_demo_registry(sqlite_db)
    return sqlite_db


def _steps(db: Database, tier: str = "public") -> list[str | None]:
    found = passport_json(db, BAG, "BA00001", None, tier=tier, base_url=BASE)
    return [row["step"] for row in found["provenance"]["timeline"]]


def test_an_outsiders_event_stays_out_until_the_chain_names_it(registry_db: Database) -> None:
    db = registry_db
    # A partner with a key but outside this bag's chain claims a step on it.
    capture_document(db, _doc(_event("repairing", "2026-05-02T10:00:00+01:00")), "segheria-cadore")
    assert _steps(db) == []
    authority = passport_json(db, BAG, "BA00001", None, tier="authority", base_url=BASE)
    assert [e["partner"] for e in authority["provenance"]["unvouched"]] == ["segheria-cadore"]
    public = passport_json(db, BAG, "BA00001", None, tier="public", base_url=BASE)
    assert "unvouched" not in public["provenance"]
    # The brand's own events are the chain's root.
    capture_document(db, _doc(_event("inspecting", "2026-05-03T10:00:00+01:00")), "maison-aurora")
    assert _steps(db) == ["inspecting"]
    # The brand ships the bag to the shop: the shop's events now count, the outsider's not.
    shipped = _event(
        "shipping",
        "2026-05-04T10:00:00+01:00",
        destinationList=[{"type": "owning_party", "destination": _party(db, "boutique-brera")}],
    )
    capture_document(db, _doc(shipped), "maison-aurora")
    sold = _event("retail_selling", "2026-05-05T10:00:00+01:00")
    capture_document(db, _doc(sold), "boutique-brera")
    assert _steps(db) == ["inspecting", "shipping", "retail_selling"]
    authority = passport_json(db, BAG, "BA00001", None, tier="authority", base_url=BASE)
    assert [e["partner"] for e in authority["provenance"]["unvouched"]] == ["segheria-cadore"]


def test_the_instance_operator_captures_into_every_chain(registry_db: Database) -> None:
    event = _event("repairing", "2026-05-02T10:00:00+01:00")
    capture_document(registry_db, _doc(event), "mics-operator")
    assert _steps(registry_db) == ["repairing"]


def test_the_outsider_naming_itself_or_others_vouches_for_nobody(registry_db: Database) -> None:
    db = registry_db
    # The outsider names the brand as the source of its "receiving": that proves nothing.
    forged = _event(
        "receiving",
        "2026-05-02T10:00:00+01:00",
        sourceList=[{"type": "owning_party", "source": _party(db, "maison-aurora")}],
        destinationList=[{"type": "owning_party", "destination": _party(db, "segheria-cadore")}],
    )
    capture_document(db, _doc(forged), "segheria-cadore")
    assert _steps(db) == []


def test_custody_chain_grows_transitively_through_source_and_destination_lists() -> None:
    glns = {"0000000000017": "tannery", "0000000000024": "workshop", "0000000000031": "shop"}

    def named(kind: str, gln: str) -> dict[str, Any]:
        field = "source" if kind == "sourceList" else "destination"
        return {kind: [{"type": "owning_party", field: f"{DL}/417/{gln}"}]}

    events = [
        ("brand", named("sourceList", "0000000000024")),  # received from the workshop
        ("workshop", named("sourceList", "0000000000017")),  # which received from the tannery
        ("brand", named("destinationList", "0000000000031")),  # shipped to the shop
        ("stranger", named("destinationList", "0000000000099")),
    ]
    assert custody_chain({"brand"}, events, glns) == {"brand", "workshop", "tannery", "shop"}
    assert custody_chain({"brand"}, events[1:2], glns) == {"brand"}  # nobody in it names them


def _brand_ships_bag2_to_outsider(db: Database) -> None:
    shipped = _event(
        "shipping",
        "2026-05-02T10:00:00+01:00",
        epcList=[f"{DL}/01/{BAG}/21/BA00002"],
        destinationList=[{"type": "owning_party", "destination": _party(db, "segheria-cadore")}],
    )
    capture_document(db, _doc(shipped), "maison-aurora")


def test_an_outsider_cannot_link_itself_in_through_another_item(registry_db: Database) -> None:
    db = registry_db
    _brand_ships_bag2_to_outsider(db)  # the brand once named the outsider, about another bag
    link = {
        "type": "TransformationEvent",
        "eventTime": "2026-05-03T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "inputEPCList": [f"{DL}/01/{BAG}/21/BA00002"],
        "outputEPCList": [f"{DL}/01/{BAG}/21/BA00001"],
        "bizStep": "repairing",
    }
    repair = _event("repairing", "2026-05-04T10:00:00+01:00")
    capture_document(db, _doc(link, repair), "segheria-cadore")
    assert _steps(db) == []
    authority = passport_json(db, BAG, "BA00001", None, tier="authority", base_url=BASE)
    assert sorted(e["partner"] for e in authority["provenance"]["unvouched"]) == [
        "maison-aurora",  # its shipment of the other bag: reached only through the outsider
        "segheria-cadore",
        "segheria-cadore",
    ]


def test_an_outsider_cannot_link_itself_in_through_a_case(registry_db: Database) -> None:
    db = registry_db
    case = f"{DL}/00/080123450000000029"
    shipped = _event(
        "shipping",
        "2026-05-02T10:00:00+01:00",
        epcList=[case],
        destinationList=[{"type": "owning_party", "destination": _party(db, "segheria-cadore")}],
    )
    capture_document(db, _doc(shipped), "maison-aurora")
    packed = {
        "type": "AggregationEvent",
        "eventTime": "2026-05-03T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "parentID": case,
        "childEPCs": [f"{DL}/01/{BAG}/21/BA00001"],
        "action": "ADD",
        "bizStep": "packing",
    }
    repair = _event("repairing", "2026-05-04T10:00:00+01:00")
    capture_document(db, _doc(packed, repair), "segheria-cadore")
    assert _steps(db) == []
