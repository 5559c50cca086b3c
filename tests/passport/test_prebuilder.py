"""The server's prebuilder: snapshots written in the background, never in a request's way."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import count_assemblies, epcis_document

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.errors import InvalidInput
from mics.passport import prebuild, snapshots, tags, view
from mics.passport.digital_link import DigitalLink
from mics.passport.languages import LANGUAGES
from mics.passport.passport_cache import PassportCache
from mics.passport.prebuilder import Prebuilder
from mics.passport.view import passport_json
from mics.registry import create_item, find_item
from mics.registry.api_keys import create_key
from mics.registry.schemas import ItemIn
from mics.trace.capture import capture_document

BAG, BASE, BRAND = "08012345000012", "https://mics.test", "maison-aurora"


def _stored(db: Database, serial: str, lang: str = "en") -> snapshots.Snapshot | None:
    key = snapshots.snapshot_key((BAG, serial, None, "public", lang, BASE))
    return snapshots.recall_many(db, [key]).get(key)


def _settled(builder: Prebuilder, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    time.sleep(0.01)
    while not builder.idle():
        assert time.monotonic() < deadline, "the prebuilder did not finish"
        time.sleep(0.02)


@pytest.fixture
def builder(tagged: Database) -> Iterator[Prebuilder]:
    found = Prebuilder(tagged, BASE, delay=0.05)
    yield found
    found.stop()


def _new_item(db: Database, serial: str) -> int:
    return create_item(db, ItemIn(product="borsa-aurora", serial=serial)).id


def test_a_tag_enrolled_gets_its_snapshot_without_a_scan(
    tagged: Database, builder: Prebuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder.start(sweep=False)
    item = _new_item(tagged, "NEW0001")
    tags.register_tag(tagged, item, "04A1B2C3D4E5F6")
    builder.enrolled([item])
    _settled(builder)
    for lang in LANGUAGES:
        stored = _stored(tagged, "NEW0001", lang)
        assert stored is not None, lang
        assert json.loads(stored.body)["product"]["serial"] == "NEW0001"
    assembled = count_assemblies(monkeypatch)
    cache = PassportCache(ttl=3600, snapshots=True)
    served = cache.passport(tagged, DigitalLink(gtin=BAG, serial="NEW0001"), "public", "en", BASE)
    assert json.loads(served) == passport_json(tagged, BAG, "NEW0001", None, base_url=BASE)
    assert assembled == []  # the first scan ever read the prebuilt snapshot


def test_at_start_it_sweeps_tagged_items_without_a_snapshot(
    tagged: Database, builder: Prebuilder
) -> None:
    count = len(prebuild.targets(tagged, limit=10**6))
    builder.start()
    _settled(builder)
    assert prebuild.warm(tagged, BASE).fresh == count * len(LANGUAGES)


def test_events_captured_rebuild_only_the_snapshots_they_made_stale(
    tagged: Database, builder: Prebuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    prebuild.warm(tagged, BASE)
    builder.start(sweep=False)
    rebuilt: list[tuple[list[int] | None, int]] = []
    real = prebuild.warm

    def spying(*args: Any, **kwargs: Any) -> prebuild.Warmed:
        done = real(*args, **kwargs)
        items = kwargs.get("item_ids")
        rebuilt.append((None if items is None else sorted(items), done.written))
        return done

    monkeypatch.setattr(prebuild, "warm", spying)
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-02T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00002"],
        "action": "OBSERVE",
        "bizStep": "repairing",
    }
    capture_document(tagged, epcis_document([event]), BRAND)
    builder.captured()
    _settled(builder)
    # that item checked and rebuilt, in each language; no other item looked at
    assert rebuilt == [([find_item(tagged, BAG, "BA00002").id], len(LANGUAGES))]
    stored = _stored(tagged, "BA00002")
    assert stored is not None
    assert [row["step"] for row in json.loads(stored.body)["provenance"]["timeline"]] == [
        "repairing"
    ]


def test_a_scan_served_while_the_builder_assembles_is_the_same_passport(
    tagged: Database, builder: Prebuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, release = threading.Event(), threading.Event()
    real = view.assemble_each

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(prebuild, "assemble_each", held)
    builder.start()  # the sweep: every tagged item, BA00001 first
    assert inside.wait(30)
    cache = PassportCache(ttl=3600, snapshots=True)
    for serial in ("BA00001", "BA00002"):
        served = cache.passport(tagged, DigitalLink(gtin=BAG, serial=serial), "public", "en", BASE)
        assert json.loads(served) == passport_json(tagged, BAG, serial, None, base_url=BASE)
    release.set()
    _settled(builder)
    cache.close()
    again = PassportCache(ttl=3600, snapshots=True)
    served = again.passport(tagged, DigitalLink(gtin=BAG, serial="BA00001"), "public", "en", BASE)
    assert json.loads(served) == passport_json(tagged, BAG, "BA00001", None, base_url=BASE)


def test_a_failing_pass_is_logged_and_the_next_one_runs(
    tagged: Database,
    builder: Prebuilder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = prebuild.warm
    calls: list[int] = []

    def broken_once(*args: Any, **kwargs: Any) -> prebuild.Warmed:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(prebuild, "warm", broken_once)
    item = find_item(tagged, BAG, "BA00003").id
    with caplog.at_level(logging.ERROR, logger="mics.passport.prebuilder"):
        builder.start(sweep=False)
        builder.enrolled([item])
        _settled(builder)
        assert builder.errors == 1
        assert "a pass failed" in caplog.text
        assert "database went away" in caplog.text
        assert _stored(tagged, "BA00003") is None
        builder.enrolled([item])
        _settled(builder)
    assert builder.running
    assert _stored(tagged, "BA00003") is not None


def test_notices_to_a_stopped_prebuilder_do_nothing(tagged: Database) -> None:
    idle = Prebuilder(tagged, BASE, delay=0.01)
    idle.enrolled([1])
    idle.captured()
    assert idle.idle()
    assert not idle.running


def test_more_items_than_the_queue_holds_become_one_sweep(
    tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[tuple[Any, bool]] = []
    real = prebuild.warm

    def spying(*args: Any, **kwargs: Any) -> prebuild.Warmed:
        passes.append((kwargs.get("item_ids"), kwargs.get("missing_only", False)))
        return real(*args, **kwargs)

    monkeypatch.setattr(prebuild, "warm", spying)
    small = Prebuilder(tagged, BASE, delay=0.2, limit=3)
    try:
        small.start(sweep=False)
        small.enrolled(find_item(tagged, BAG, f"BA0000{n}").id for n in range(1, 6))
        _settled(small)
    finally:
        small.stop()
    assert passes == [(None, True)]


# --- in the server ------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def served(tagged: Database, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = Settings(database_url="sqlite://", home=tmp_path / "home", base_url=BASE)
    app = create_app(settings, tagged)
    app.state.prebuilder.delay = 0.05
    app.state.prebuilder.start(sweep=False)  # what the lifespan does in `mics serve`
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
            yield client, app
    finally:
        app.state.prebuilder.stop()


@pytest.mark.anyio
async def test_a_tag_registered_over_http_is_prebuilt_and_its_first_scan_served_from_it(
    served: tuple[httpx.AsyncClient, Any],
    tagged: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, app = served
    item = _new_item(tagged, "NEW0002")
    key = {"authorization": "Bearer " + create_key(tagged, BRAND)}
    made = await client.post(f"/api/items/{item}/tag", json={"uid": "04B1B2C3D4E5F6"}, headers=key)
    assert made.status_code == 201, made.text
    _settled(app.state.prebuilder)
    assert _stored(tagged, "NEW0002") is not None
    assembled = count_assemblies(monkeypatch)
    master = tags.load_or_create_master_key(tmp_path / "home", app.state.settings.instance)
    url = tags.simulate_scan_url(tagged, master, item, "http://mics.test")
    scan = await client.get(url, headers={"accept": "application/json"})
    assert scan.status_code == 200, scan.text
    body = scan.json()
    assert body["verdict"] == "authentic"
    plain = passport_json(tagged, BAG, "NEW0002", None, base_url=BASE)
    assert body["passport"] == plain  # the verdict just recorded included
    assert assembled == []


@pytest.mark.anyio
async def test_a_capture_over_http_rebuilds_the_passport_it_changed(
    served: tuple[httpx.AsyncClient, Any], tagged: Database
) -> None:
    client, app = served
    prebuild.warm(tagged, BASE)
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-03T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00004"],
        "action": "OBSERVE",
        "bizStep": "repairing",
    }
    key = {"authorization": "Bearer " + create_key(tagged, BRAND)}
    done = await client.post("/epcis/capture", json=epcis_document([event]), headers=key)
    assert done.status_code == 202, done.text
    _settled(app.state.prebuilder)
    stored = _stored(tagged, "BA00004", "it")
    assert stored is not None
    assert [row["step"] for row in json.loads(stored.body)["provenance"]["timeline"]] == [
        "repairing"
    ]


def test_the_setting_switches_it_off_and_refuses_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MICS_PASSPORT_PREBUILD", "0")
    assert Settings.from_env().passport_prebuild is False
    monkeypatch.delenv("MICS_PASSPORT_PREBUILD")
    assert Settings.from_env().passport_prebuild is True
    monkeypatch.setenv("MICS_PASSPORT_PREBUILD", "sometimes")
    with pytest.raises(InvalidInput, match="MICS_PASSPORT_PREBUILD") as bad:
        Settings.from_env()
    assert bad.value.expected == "1 (on) or 0 (off)"


def test_a_cached_passport_whose_provenance_changed_takes_the_prebuilt_snapshot(
    tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's refresher recalls what the prebuilder wrote instead of assembling again."""
    assembled = count_assemblies(monkeypatch)
    link = DigitalLink(gtin=BAG, serial="BA00005")
    cache = PassportCache(ttl=0.05, snapshots=True)
    before = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert before["provenance"]["timeline"] == []
    assert assembled == ["BA00005"]
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-04T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00005"],
        "action": "OBSERVE",
        "bizStep": "repairing",
    }
    capture_document(tagged, epcis_document([event]), BRAND)
    assert prebuild.warm(tagged, BASE, item_ids=[find_item(tagged, BAG, "BA00005").id]).written
    time.sleep(0.1)  # due
    cache.passport(tagged, link, "public", "en", BASE)  # served as it was; checked behind
    cache.close()
    after = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert [row["step"] for row in after["provenance"]["timeline"]] == ["repairing"]
    assert after == passport_json(tagged, BAG, "BA00005", None, base_url=BASE)
    assert assembled == ["BA00005"]  # the new one came from the snapshot


@pytest.mark.anyio
async def test_a_product_edit_over_http_rebuilds_that_products_snapshots_only(
    served: tuple[httpx.AsyncClient, Any], tagged: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, app = served
    prebuild.warm(tagged, BASE)
    bags = len(prebuild.targets(tagged, gtin=BAG, limit=10**6))
    everything = len(prebuild.targets(tagged, limit=10**6))
    assert bags < everything
    passes: list[prebuild.Warmed] = []
    real = prebuild.warm

    def spying(*args: Any, **kwargs: Any) -> prebuild.Warmed:
        passes.append(real(*args, **kwargs))
        return passes[-1]

    monkeypatch.setattr(prebuild, "warm", spying)
    key = {"authorization": "Bearer " + create_key(tagged, BRAND)}
    edited = await client.patch(
        "/api/products/borsa-aurora", json={"name": "Borsa Aurora II"}, headers=key
    )
    assert edited.status_code == 200, edited.text
    _settled(app.state.prebuilder)
    # every item checked; the bags' English passports rebuilt (their Italian ones show the
    # product's own Italian name, unchanged: their digest still matches)
    assert [(p.items, p.written) for p in passes] == [(everything, bags)]
    english, italian = _stored(tagged, "BA00001"), _stored(tagged, "BA00001", "it")
    assert english is not None
    assert italian is not None
    assert json.loads(english.body)["product"]["name"] == "Borsa Aurora II"
    assert json.loads(italian.body)["product"]["name"] != "Borsa Aurora II"


def test_events_another_process_captured_are_found_by_the_poll(tagged: Database) -> None:
    prebuild.warm(tagged, BASE)
    polling = Prebuilder(tagged, BASE, delay=0.01, poll=0.1)
    try:
        polling.start(sweep=False)
        event = {
            "type": "ObjectEvent",
            "eventTime": "2026-05-05T10:00:00+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00001"],
            "action": "OBSERVE",
            "bizStep": "repairing",
        }
        capture_document(tagged, epcis_document([event]), BRAND)  # no notice: the CLI, say
        deadline = time.monotonic() + 20
        while True:
            stored = _stored(tagged, "BA00001")
            assert stored is not None
            if json.loads(stored.body)["provenance"]["timeline"]:
                break
            assert time.monotonic() < deadline, "the poll did not rebuild it"
            time.sleep(0.05)
    finally:
        polling.stop()
    assert polling.errors == 0


def test_two_processes_prebuilders_on_one_database_write_each_snapshot_without_errors(
    tagged: Database,
) -> None:
    """``mics serve --workers 2``: two prebuilders start together; one sweeps at a time."""
    other = Database.from_url(str(tagged.engine.url))  # a second process's engine
    first = Prebuilder(tagged, BASE, delay=0.01)
    second = Prebuilder(other, BASE, delay=0.01)
    try:
        first.start()
        second.start()
        _settled(first)
        _settled(second)
        item = find_item(tagged, BAG, "BA00002").id
        first.enrolled([item])  # both told of one item: both check it, neither fails
        second.enrolled([item])
        _settled(first)
        _settled(second)
    finally:
        first.stop()
        second.stop()
        other.dispose()
    assert (first.errors, second.errors) == (0, 0)
    count = len(prebuild.targets(tagged, limit=10**6))
    assert prebuild.warm(tagged, BASE).fresh == count * len(LANGUAGES)
