"""Genealogy: upstream and downstream of an object through transformations."""

from __future__ import annotations

from tests.trace.test_capture import ALL, NOW, doc

from mics.db import Database
from mics.trace import capture, genealogy


def test_genealogy_answers_the_recall_question(repo: Database) -> None:
    hides = "https://id.gs1.org/01/08012345000401/10/H1"
    leather = "https://id.gs1.org/01/08012345000418/10/L1"
    other = "https://id.gs1.org/01/08012345000418/10/L2"
    bags = [f"https://id.gs1.org/01/08012345000012/21/B{i}" for i in range(3)]
    base = {"eventTimeZoneOffset": "+01:00", "bizStep": "commissioning"}
    tanning = base | {
        "type": "TransformationEvent",
        "eventTime": "2026-03-01T10:00:00+01:00",
        "inputQuantityList": [{"epcClass": hides, "quantity": 10, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": leather, "quantity": 2, "uom": "MTK"}],
    }
    sewing = base | {
        "type": "TransformationEvent",
        "eventTime": "2026-03-02T10:00:00+01:00",
        "inputQuantityList": [{"epcClass": leather, "quantity": 1, "uom": "MTK"}],
        "outputEPCList": bags[:2],
    }
    unrelated = base | {
        "type": "TransformationEvent",
        "eventTime": "2026-03-02T11:00:00+01:00",
        "inputQuantityList": [{"epcClass": other, "quantity": 1, "uom": "MTK"}],
        "outputEPCList": bags[2:],
    }
    capture.capture_document(repo, doc([tanning, sewing, unrelated]), "tannery", now=NOW)
    down = genealogy.trace(repo, "urn:epc:class:lgtin:8012345.000040.H1", "downstream", ALL)
    finished = {n["id"] for n in down.nodes.values() if "/21/" in n["id"]}
    assert finished == set(bags[:2])
    up = genealogy.trace(repo, bags[0], "upstream", ALL)
    assert {n["id"] for n in up.nodes.values()} == {bags[0], leather, hides}
    assert [t["eventTime"][:10] for t in up.timeline()] == ["2026-03-01", "2026-03-02"]


def test_demo_chains_answer_the_bag_recall(demo_db: Database) -> None:
    down = genealogy.trace(
        demo_db, "https://id.gs1.org/01/08012345000401/10/H26-011", "downstream", ALL
    )
    bags = sorted(n for n in down.nodes if "/01/08012345000012/21/" in n)
    assert bags == [f"https://id.gs1.org/01/08012345000012/21/BA0000{i}" for i in range(1, 6)]
    chair = genealogy.trace(
        demo_db, "https://id.gs1.org/01/08012345000111/21/SQ00001", "upstream", ALL
    )
    assert "https://id.gs1.org/01/08012345000500/10/Q-CAD-26-01" in chair.nodes
