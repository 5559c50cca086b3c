"""Passports prebuilt before the first scan: ``mics passport warm`` and ``prebuild.warm``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.support import count_assemblies, repair_document, run_mics

from mics.db import Database
from mics.errors import InvalidInput, NotFound
from mics.passport import prebuild, snapshots
from mics.passport.digital_link import DigitalLink
from mics.passport.languages import LANGUAGES
from mics.passport.passport_cache import PassportCache, freeze
from mics.passport.store import NfcTagRow, PassportSnapshotRow
from mics.passport.view import VOLATILE, passport_json
from mics.registry.store import ItemRow, ProductRow
from mics.trace.capture import capture_document

BAG, BASE = "08012345000012", "https://mics.test"


def _tagged_count(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(NfcTagRow)) or 0)


def _stored(db: Database, serial: str, lang: str, gtin: str = BAG) -> snapshots.Snapshot | None:
    key = snapshots.snapshot_key((gtin, serial, None, "public", lang, BASE))
    return snapshots.recall_many(db, [key]).get(key)


def test_warm_writes_every_tagged_items_snapshot_once_and_a_second_run_writes_none(
    tagged_db: Database,
) -> None:
    tagged = _tagged_count(tagged_db)
    assert tagged >= 15
    seen: list[tuple[int, int]] = []
    first = prebuild.warm(tagged_db, BASE, batch=4, progress=lambda n, t: seen.append((n, t)))
    assert (first.items, first.written, first.fresh, first.failed) == (
        tagged,
        tagged * len(LANGUAGES),
        0,
        0,
    )
    assert seen[-1] == (tagged, tagged)
    assert len(seen) == -(-tagged // 4)
    with tagged_db.read() as s:
        assert s.scalar(select(func.count()).select_from(PassportSnapshotRow)) == first.written
    again = prebuild.warm(tagged_db, BASE)
    assert (again.items, again.written, again.fresh) == (tagged, 0, tagged * len(LANGUAGES))


def test_a_new_event_makes_one_item_stale_and_warm_rebuilds_only_it(tagged: Database) -> None:
    prebuild.warm(tagged, BASE)
    before = _stored(tagged, "BA00002", "it")
    assert before is not None
    assert json.loads(before.body)["provenance"]["timeline"] == []
    capture_document(tagged, repair_document(BAG, "BA00002"), "maison-aurora")
    again = prebuild.warm(tagged, BASE)
    assert again.written == len(LANGUAGES)  # BA00002 in each language, nothing else
    after = _stored(tagged, "BA00002", "it")
    assert after is not None
    timeline = json.loads(after.body)["provenance"]["timeline"]
    assert [(row["step"], row["stepLabel"]) for row in timeline] == [("repairing", "Riparato")]
    assert prebuild.warm(tagged, BASE).written == 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_prebuilt_snapshot_is_byte_identical_to_the_one_a_scan_assembles(
    demo_db: Database, lang: str
) -> None:
    """On the whole demo (supply chains, custody claims): the prebuilt bytes are the cache's."""
    done = prebuild.warm(demo_db, BASE)
    assert done.failed == 0
    assert done.written > 0
    with demo_db.read() as s:
        items = list(s.scalars(select(NfcTagRow.item_id)))
    with_history = 0
    for item_id in items:
        target = prebuild.targets(demo_db, item_ids=[item_id])[0]
        link = DigitalLink(gtin=target.gtin, serial=target.serial)
        stored = _stored(demo_db, target.serial, lang, target.gtin)
        assert stored is not None
        assembled = freeze(demo_db, link, "public", lang, BASE)
        assert stored.body == assembled.body, target
        assert stored.watch == assembled.watch
        with_history += bool(json.loads(stored.body)["provenance"]["timeline"])
    assert with_history >= 5  # items whose walk met events, not only empty timelines


def test_a_prebuilt_snapshot_serves_the_first_scan_without_assembling(
    tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    prebuild.warm(tagged, BASE)
    assembled = count_assemblies(monkeypatch)
    cache = PassportCache(ttl=3600, snapshots=True)  # a process that never served it
    link = DigitalLink(gtin=BAG, serial="BA00004")
    for lang in LANGUAGES:
        served = json.loads(cache.passport(tagged, link, "public", lang, BASE))
        plain = passport_json(tagged, BAG, "BA00004", None, lang=lang, base_url=BASE)
        assert served == plain
        assert set(VOLATILE) <= set(served)
    assert assembled == []


def test_warm_keeps_to_one_product_and_language_and_names_a_bad_gtin(tagged: Database) -> None:
    with tagged.read() as s:
        bags = s.execute(
            select(func.count())
            .select_from(NfcTagRow)
            .join(ItemRow, ItemRow.id == NfcTagRow.item_id)
            .join(ProductRow, ProductRow.id == ItemRow.product_id)
            .where(ProductRow.gtin == BAG)
        ).scalar_one()
    assert 2 <= bags < _tagged_count(tagged)
    done = prebuild.warm(tagged, BASE, gtin=BAG[1:], languages=["IT"])  # GTIN-13, upper case
    assert (done.items, done.written) == (bags, bags)
    assert _stored(tagged, "BA00001", "it") is not None
    assert _stored(tagged, "BA00001", "en") is None
    with pytest.raises(InvalidInput, match="--gtin") as bad:
        prebuild.warm(tagged, BASE, gtin="08012345000013")
    assert (bad.value.field, bad.value.value) == ("--gtin", "08012345000013")
    with pytest.raises(NotFound, match="no product has GTIN 00000000000017"):
        prebuild.warm(tagged, BASE, gtin="00000000000017")


def test_one_item_that_fails_is_reported_and_the_others_are_written(
    tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.passport import view

    real = view.assemble_each

    def failing(db: Database, subject: object, *args: object, **kwargs: object) -> object:
        if getattr(subject, "serial", None) == "BA00003":
            raise RuntimeError("walk broke")
        return real(db, subject, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("mics.passport.prebuild.assemble_each", failing)
    done = prebuild.warm(tagged, BASE)
    assert done.failed == 1
    assert done.failures[0].endswith(f"({BAG}/BA00003): walk broke")
    assert done.written == (done.items - 1) * len(LANGUAGES)
    assert _stored(tagged, "BA00003", "en") is None


def test_two_writers_of_one_key_both_succeed_the_last_one_wins(db: Database) -> None:
    key = snapshots.snapshot_key((BAG, "X", None, "public", "en", BASE))
    for body in (b'{"a":1}', b'{"a":2}'):
        snap = snapshots.Snapshot(body, None, frozenset({"urn:x"}), 1, "d")
        snapshots.save(db, [(key, snap)])
    assert snapshots.recall_many(db, [key])[key].body == b'{"a":2}'


# --- the command --------------------------------------------------------------------------


def test_mics_passport_warm_writes_then_writes_none_then_rebuilds_after_an_event(
    tagged: Database, tmp_path: Path
) -> None:
    env = {"MICS_DATABASE_URL": str(tagged.engine.url), "MICS_BASE_URL": BASE}
    tags = _tagged_count(tagged)
    first = run_mics(tmp_path, "passport", "warm", **env)
    assert first.returncode == 0, first.stderr
    assert f"{tags} items: {tags * 2} snapshots written, 0 fresh, 0 items failed" in first.stdout
    assert BASE in first.stdout
    second = run_mics(tmp_path, "passport", "warm", **env)
    assert f"{tags} items: 0 snapshots written, {tags * 2} fresh" in second.stdout
    capture_document(tagged, repair_document(BAG, "BA00005"), "maison-aurora")
    third = run_mics(tmp_path, "passport", "warm", "--lang", "en", **env)
    assert f"{tags} items: 1 snapshots written, {tags - 1} fresh" in third.stdout


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--gtin", "123"], "--gtin: a GTIN is 8, 12, 13 or 14 digits: got '123'"),
        (["--lang", "fr"], "lang: 'fr' is not a language of the passport"),
        (["--gtin", "00000000000017"], "no product has GTIN 00000000000017"),
    ],
)
def test_mics_passport_warm_refuses_bad_input_in_one_line(
    tagged: Database, tmp_path: Path, args: list[str], said: str
) -> None:
    env = {"MICS_DATABASE_URL": str(tagged.engine.url), "MICS_BASE_URL": BASE}
    bad = run_mics(tmp_path, "passport", "warm", *args, **env)
    assert bad.returncode != 0
    assert bad.stderr.count("\n") == 1, bad.stderr
    assert said in bad.stderr
    assert "Traceback" not in bad.stderr
    with tagged.read() as s:
        assert s.scalar(select(func.count()).select_from(PassportSnapshotRow)) == 0


def test_mics_tag_register_writes_the_new_items_snapshot(tagged: Database, tmp_path: Path) -> None:
    from mics.config import Settings
    from mics.passport import tags
    from mics.registry import create_item
    from mics.registry.schemas import ItemIn

    env = {"MICS_DATABASE_URL": str(tagged.engine.url), "MICS_BASE_URL": BASE}
    tags.load_or_create_master_key(tmp_path / "var", Settings().instance)
    create_item(tagged, ItemIn(product="borsa-aurora", serial="NEW0003"))
    done = run_mics(tmp_path, "tag", "register", f"{BAG}/NEW0003", "--uid", "04C1B2C3D4E5F6", **env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["serial"] == "NEW0003"
    for lang in LANGUAGES:
        stored = _stored(tagged, "NEW0003", lang)
        assert stored is not None, lang
        assert json.loads(stored.body)["language"] == lang
