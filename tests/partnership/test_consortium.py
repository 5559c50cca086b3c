"""Consortia on the demo registry: needs covered, research and industry, sectors, roles."""

from __future__ import annotations

import pytest

from mics.db import Database
from mics.errors import InvalidInput
from mics.partnership.consortium import named_sectors, split_needs
from mics.partnership.service import consortium

RESEARCH = {"university", "research_centre"}


def test_an_idea_splits_into_its_needs_in_either_language() -> None:
    assert split_needs("Oak chairs as a service, with a footprint calculation") == [
        "Oak chairs as a service",
        "a footprint calculation",
    ]
    assert split_needs("Borse in pelle e tessuti riciclati") == [
        "Borse in pelle",
        "tessuti riciclati",
    ]
    assert split_needs("leather") == ["leather"]


def test_sectors_are_named_by_italian_and_english_words() -> None:
    scopes = {"fashion": "Fashion, Leather", "furniture": "Furniture, Interiors"}
    assert named_sectors("sedie e borse", scopes) == ["fashion", "furniture"]
    assert named_sectors("interiors of yachts", scopes) == ["furniture"]
    assert named_sectors("titanium powder", scopes) == []


def test_a_consortium_covers_every_need_and_mixes_research_and_industry(
    demo_db: Database,
) -> None:
    found = consortium(
        demo_db,
        "Oak chairs rented as a service, with a footprint calculation and recycled aluminium",
    )
    assert found.missing == ()
    assert 3 <= len(found.members) <= 7
    kinds = {m.kind for m in found.members}
    assert kinds & RESEARCH
    assert "enterprise" in kinds
    by_need = {b.need: m.partner for m in found.members for b in m.brings}
    assert by_need["recycled aluminium"] == "alluminio-riciclato"
    assert by_need["a footprint calculation"] in {"universita-veneta", "enea-sostenibilita"}
    assert found.sectors == ("furniture",)
    roles = [m.role for m in found.members]
    assert len(roles) == len(set(roles)), "no two members in one role"


def test_an_italian_idea_spans_both_sectors_it_names(sqlite_db: Database) -> None:
    from mics.registry.demo import load_demo_registry

    load_demo_registry(sqlite_db)
    found = consortium(
        sqlite_db, "Borse in pelle conciata al vegetale, con robot collaborativi in laboratorio"
    )
    assert set(found.sectors) == {"fashion", "factory-automation"}
    spanned = {s for m in found.members for s in m.sectors}
    assert spanned >= {"fashion", "factory-automation"}
    assert found.missing == ()


def test_what_nobody_covers_is_reported_missing(sqlite_db: Database) -> None:
    from mics.registry.demo import load_demo_registry

    load_demo_registry(sqlite_db)
    found = consortium(sqlite_db, "leather bags", needs=["leather bags", "quantum cryptography"])
    assert "nobody covers 'quantum cryptography'" in found.missing
    assert any(b.need == "leather bags" for m in found.members for b in m.brings)


def test_an_unknown_sector_is_refused(sqlite_db: Database) -> None:
    from mics.registry.demo import load_demo_registry

    load_demo_registry(sqlite_db)
    with pytest.raises(InvalidInput) as caught:
        consortium(sqlite_db, "leather bags", sectors=["jewels"])
    assert caught.value.field == "sector"
    with pytest.raises(InvalidInput) as caught:
        consortium(sqlite_db, "leather bags", needs=[" "])
    assert caught.value.field == "needs[0]"
