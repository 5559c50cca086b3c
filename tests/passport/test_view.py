"""The passport's content: registry, public provenance, footprint, ownership, verdicts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.databases import Templates

from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.passport import ownership
from mics.passport.view import country_of_gln, full_passport, passport_json
from mics.registry import find_item
from mics.registry.store import PartnerRow
from mics.trace.store import EventBizTransactionRow

BAG, SERIAL, BASE = "08012345000012", "BA00001", "https://mics.test"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Iterator[Database]:
    db = templates.sqlite("demo", tmp_path_factory.mktemp("view") / "v.db")
    yield db
    db.dispose()


def test_item_passport_names_product_maker_and_materials(demo: Database) -> None:
    p = passport_json(demo, BAG, SERIAL, None, base_url=BASE)
    assert p["@id"] == f"https://id.gs1.org/01/{BAG}/21/{SERIAL}"
    assert p["granularity"] == "item"
    assert p["product"]["name"] == "Borsa Aurora leather handbag"
    assert p["product"]["lot"] == "L2026-03"
    assert p["manufacturer"]["name"].startswith("Maison Aurora")
    assert p["manufacturer"]["did"] == "did:web:mics.test:partners:maison-aurora"
    leather = p["materials"][0]
    assert leather["name"] == "Bovine leather, chrome tanned"
    assert leather["originCountry"] == "IT"
    assert leather["massShare"] == pytest.approx(0.62 / 0.84, abs=1e-4)
    brass = next(m for m in p["materials"] if m["name"].startswith("Brass"))
    assert brass["recycledShare"] == 0.3
    assert p["circularity"]["recycledContent"] == pytest.approx(0.3 * 0.09 / 0.84, abs=1e-3)
    assert "authorised repairers" in p["repair"]["instructions"]
    assert "recycling" in p["endOfLife"]["instructions"]


def test_public_timeline_has_places_and_steps_and_no_partner_detail(demo: Database) -> None:
    p = passport_json(demo, BAG, SERIAL, None, base_url=BASE)
    timeline = p["provenance"]["timeline"]
    assert len(timeline) >= 5
    assert {tuple(sorted(step)) for step in timeline} == {
        ("country", "date", "place", "step", "stepLabel")
    }
    assert ("Arzignano", "IT") in {(s["place"], s["country"]) for s in timeline}
    assert [s["date"] for s in timeline] == sorted(s["date"] for s in timeline)
    assert "events" not in p["provenance"]
    text = json.dumps(p)
    with demo.read() as s:
        others = list(
            s.execute(
                select(PartnerRow.id, PartnerRow.name).where(PartnerRow.id != "maison-aurora")
            )
        )
        transactions = list(s.scalars(select(EventBizTransactionRow.value)))
    assert transactions, "the demo chain should carry business transactions"
    for pid, name in others:
        assert pid not in text
        assert name not in text
    for value in transactions:
        assert value not in text
    assert "ni:///" not in text
    assert "bizTransaction" not in text


def test_steps_are_labelled_in_italian(demo: Database) -> None:
    p = passport_json(demo, BAG, SERIAL, None, lang="it", base_url=BASE)
    labels = {s["step"]: s["stepLabel"] for s in p["provenance"]["timeline"]}
    assert labels["shipping"] == "Spedito"
    assert p["language"] == "it"


def test_lot_and_model_passports_have_their_granularity(demo: Database) -> None:
    lot = passport_json(demo, BAG, None, "L2026-03", base_url=BASE)
    model = passport_json(demo, BAG, None, None, base_url=BASE)
    assert (lot["granularity"], lot["@id"]) == ("batch", f"https://id.gs1.org/01/{BAG}/10/L2026-03")
    assert (model["granularity"], model["@id"]) == ("model", f"https://id.gs1.org/01/{BAG}")
    assert "ownership" not in model or model["ownership"]["owners"] is None


def test_unknown_items_lots_and_bad_gtins_are_errors(demo: Database) -> None:
    with pytest.raises(NotFound, match="ZZ999"):
        passport_json(demo, BAG, "ZZ999", None, base_url=BASE)
    with pytest.raises(NotFound, match="lot"):
        passport_json(demo, BAG, None, "NOPE", base_url=BASE)
    with pytest.raises(NotFound):
        passport_json(demo, BAG, SERIAL, "OTHER-LOT", base_url=BASE)
    with pytest.raises(InvalidInput, match="check digit"):
        passport_json(demo, "08012345000013", SERIAL, None, base_url=BASE)
    with pytest.raises(InvalidInput, match="lang"):
        passport_json(demo, BAG, SERIAL, None, lang="fr", base_url=BASE)


def test_footprint_and_mci_come_from_the_footprint_service(demo: Database) -> None:
    p = passport_json(demo, BAG, SERIAL, None, base_url=BASE)
    footprint = p["footprint"]
    if not footprint["available"]:
        assert footprint["note"] == "footprint not available"
        return
    assert footprint["gwp100KgCO2e"] == pytest.approx(sum(footprint["byStage"].values()), 1e-4)
    assert set(footprint["byStage"]) >= {"materials", "manufacturing"}
    assert 0.0 <= p["circularity"]["mci"] <= 1.0


def test_ownership_shows_how_many_owners_and_when_never_who(demo: Database) -> None:
    item = find_item(demo, BAG, "BA00005")
    [secret] = [
        s
        for s in ownership.issue_secrets(demo, "borsa-aurora", reissue=True)
        if s.serial == "BA00005"
    ]
    ownership.claim(demo, item.id, secret.secret, now=datetime(2026, 5, 1, tzinfo=UTC))
    p = passport_json(demo, BAG, "BA00005", None, base_url=BASE)
    assert p["ownership"]["owners"] == 1
    assert p["ownership"]["since"] == "2026-05-01T00:00:00Z"
    assert set(p["ownership"]) == {
        "owners",
        "since",
        "ownedSince",
        "lostOrStolen",
        "report",
        "claimable",
    }


def test_last_recorded_scan_verdict_is_the_authenticity_status(demo: Database) -> None:
    try:
        scan_row = import_module("mics.passport.store").TagScanRow
    except (ImportError, AttributeError):
        pytest.skip("mics.passport.store (scan records) is not installed")
    item = find_item(demo, BAG, "BA00004")
    with demo.transaction() as s:
        s.add(
            scan_row(
                item_id=item.id,
                verdict="replay",
                reason="counter 3 <= 5",
                counter=3,
                scanned_at=datetime(2026, 6, 1, 9, tzinfo=UTC),
            )
        )
    full = full_passport(demo, BAG, "BA00004", None, base_url=BASE)
    public = passport_json(demo, BAG, "BA00004", None, base_url=BASE)
    assert full["authenticity"] == {
        "verdict": "replay",
        "checkedAt": "2026-06-01T09:00:00Z",
        "counter": 3,
    }
    assert public["authenticity"] == {"verdict": "replay", "checkedAt": "2026-06-01T09:00:00Z"}


def test_country_of_a_location_comes_from_its_gs1_prefix() -> None:
    assert country_of_gln("8012345900015") == "IT"
    assert country_of_gln("4012345000009") == "DE"
    assert country_of_gln("9991234000000") is None


def test_passport_data_files_have_a_source() -> None:
    folder = Path(__file__).resolve().parents[2] / "src" / "mics" / "passport" / "data"
    prefixes = json.loads((folder / "gs1_prefixes.json").read_text("utf-8"))
    assert prefixes["source"].startswith("GS1")
    texts = json.loads((folder / "i18n.json").read_text("utf-8"))
    assert set(texts["en"]) == set(texts["it"])
    assert set(texts["en"]["steps"]) == set(texts["it"]["steps"])


def test_made_on_is_the_date_of_the_event_that_made_the_item(demo: Database) -> None:
    bag = passport_json(demo, BAG, SERIAL, None, base_url=BASE)
    # the workshop's TransformationEvent (assembling) output the bag on 14 February;
    # the registry row was written today, when the demo was loaded
    assert bag["product"]["producedOn"] == "2026-02-14"
    made = [t for t in bag["provenance"]["timeline"] if t["step"] == "assembling"]
    assert [t["date"] for t in made] == ["2026-02-14"]
    gripper = passport_json(demo, "08012345000258", "PR00001", None, base_url=BASE)
    assert gripper["product"]["producedOn"] == "2026-05-14"
    assert "madeOn" not in bag["provenance"]


def test_a_lot_no_event_made_has_no_made_on_date(demo: Database) -> None:
    lot = passport_json(demo, BAG, None, "L2026-03", base_url=BASE)
    assert lot["product"]["producedOn"] is None


def test_the_italian_passport_shows_the_makers_italian_texts(demo: Database) -> None:
    bag = passport_json(demo, BAG, SERIAL, None, lang="it", base_url=BASE)
    assert bag["product"]["name"] == "Borsa Aurora in pelle"
    assert bag["product"]["description"].startswith("Tote media in pelle bovina")
    assert bag["repair"]["instructions"].startswith("Manici e fodera")
    assert bag["product"]["untranslated"] == []
    english = passport_json(demo, BAG, SERIAL, None, lang="en", base_url=BASE)
    assert english["product"]["name"] == "Borsa Aurora leather handbag"
    assert english["product"]["untranslated"] == []


def test_texts_without_a_translation_fall_back_to_english_visibly(demo: Database) -> None:
    gripper = passport_json(demo, "08012345000258", "PR00001", None, lang="it", base_url=BASE)
    assert gripper["product"]["name"] == "Pinza robotica R2"  # given in Italian
    assert gripper["product"]["description"].startswith("Electric parallel gripper")
    assert gripper["product"]["untranslated"] == [
        "description",
        "repair_notes",
        "end_of_life_notes",
    ]
