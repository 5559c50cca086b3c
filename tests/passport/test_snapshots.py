"""Passport snapshots: a restarted server serves a checked snapshot, never a stale one."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.support import count_assemblies, repair_document, tag_demo

from mics.db import Database
from mics.passport import snapshots
from mics.passport.digital_link import DigitalLink
from mics.passport.passport_cache import PassportCache, freeze
from mics.passport.view import (
    VOLATILE,
    assemble,
    find_subject,
    full_passport,
    passport_json,
    product_part,
)
from mics.registry import domain
from mics.registry.store import PartnerRow
from mics.trace.capture import capture_document

BAG, BASE = "08012345000012", "https://mics.test"
TIERS = ("public", "legitimate_interest", "authority")


@pytest.fixture
def tagged_any(db: Database) -> Database:
    """The tagged demo registry on SQLite and on PostgreSQL (the snapshot table on both)."""
    return tag_demo(db)


def _served(db: Database, link: DigitalLink) -> dict[str, dict[str, Any]]:
    """Every tier of ``link`` from a cache holding nothing yet (a process just started)."""
    cache = PassportCache(ttl=3600, snapshots=True)
    found = {tier: json.loads(cache.passport(db, link, tier, "en", BASE)) for tier in TIERS}
    cache.close()  # the snapshots are written
    return found


def test_a_restarted_cache_serves_the_snapshot_without_assembling(
    tagged_any: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assembled = count_assemblies(monkeypatch)
    link = DigitalLink(gtin=BAG, serial="BA00001")
    first = _served(tagged_any, link)
    assert assembled == ["BA00001"] * len(TIERS)
    again = _served(tagged_any, link)  # a new process: nothing in memory
    assert assembled == ["BA00001"] * len(TIERS)  # every tier from its snapshot
    assert again == first
    for tier in TIERS:
        fresh = passport_json(tagged_any, BAG, "BA00001", None, tier=tier, base_url=BASE)
        assert again[tier] == fresh, tier


def test_a_snapshot_whose_provenance_changed_is_assembled_anew(
    tagged_any: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assembled = count_assemblies(monkeypatch)
    link = DigitalLink(gtin=BAG, serial="BA00002")
    before = _served(tagged_any, link)
    assert before["public"]["provenance"]["timeline"] == []
    capture_document(tagged_any, repair_document(BAG, "BA00002"), "maison-aurora")
    after = _served(tagged_any, link)
    assert assembled == ["BA00002"] * (2 * len(TIERS))
    assert [row["step"] for row in after["public"]["provenance"]["timeline"]] == ["repairing"]
    assert _served(tagged_any, link) == after  # the new snapshot, trusted again
    assert assembled == ["BA00002"] * (2 * len(TIERS))


def test_a_snapshot_of_another_registry_context_is_assembled_anew(
    tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partner's city (a place on a timeline) changed: the snapshot is not used."""
    assembled = count_assemblies(monkeypatch)
    link = DigitalLink(gtin=BAG, serial="BA00003")
    _served(tagged, link)
    with tagged.transaction() as s:
        partner = s.get(PartnerRow, "maison-aurora")
        assert partner is not None
        partner.city = "Elsewhere"
    _served(tagged, link)
    assert assembled == ["BA00003"] * (2 * len(TIERS))


def test_the_snapshot_key_tells_each_part_of_the_cache_key_apart() -> None:
    keys = {
        snapshots.snapshot_key((BAG, "A", None, "public", "en", BASE)),
        snapshots.snapshot_key((BAG, "A", "", "public", "en", BASE)),
        snapshots.snapshot_key((BAG, None, "A", "public", "en", BASE)),
        snapshots.snapshot_key((BAG, "A", None, "public", "it", BASE)),
        snapshots.snapshot_key((BAG, "A", None, "authority", "en", BASE)),
    }
    assert len(keys) == 5


@pytest.mark.parametrize("serial", ["BA00001", None])
def test_the_fast_slow_part_equals_the_plain_passport_without_its_volatile_parts(
    tagged: Database, serial: str | None
) -> None:
    """``assemble`` (the cache's path) against ``full_passport`` (the plain one), same data."""
    subject = find_subject(tagged, BAG, serial, None)
    shared = product_part(tagged, domain.normalise_gtin(BAG))
    slow = assemble(tagged, subject, shared, lang="en", base_url=BASE)
    full = full_passport(tagged, BAG, serial, None, base_url=BASE)
    assert list(full) == [*slow.body, *VOLATILE]
    assert {k: v for k, v in full.items() if k not in VOLATILE} == slow.body
    assert (slow.item_id is None) == (serial is None)
    for tier in TIERS:
        frozen = json.loads(
            freeze(tagged, DigitalLink(gtin=BAG, serial=serial), tier, "en", BASE).body
        )
        plain = passport_json(tagged, BAG, serial, None, tier=tier, base_url=BASE)
        assert frozen == {k: v for k, v in plain.items() if k not in VOLATILE}, tier
