"""Cached passports: the same JSON as an assembled one, never a stale verdict or owner."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from tests.support import count_assemblies, epcis_document

from mics.config import Settings
from mics.db import Database
from mics.passport import ownership, scans, tags, verdict_events
from mics.passport.digital_link import DigitalLink
from mics.passport.passport_cache import Frozen, PassportCache, freeze
from mics.passport.store import TagScanRow
from mics.passport.view import passport_json
from mics.registry import find_item
from mics.storage.write_gate import GateBusy, write_gate
from mics.trace.capture import capture_document, capture_events
from mics.trace.store import EventRow

BAG, BASE = "08012345000012", "https://mics.test"
TIERS = ("public", "legitimate_interest", "authority")
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def _item(db: Database, serial: str) -> int:
    return find_item(db, BAG, serial).id


def _secret(db: Database, serial: str) -> str:
    issued = ownership.issue_secrets(db, "borsa-aurora", reissue=True)
    return next(s.secret for s in issued if s.serial == serial)


def _same_as_assembled(cache: PassportCache, db: Database, link: DigitalLink) -> None:
    for tier in TIERS:
        cached = json.loads(cache.passport(db, link, tier, "en", BASE))
        fresh = passport_json(db, link.gtin, link.serial, link.lot, tier=tier, base_url=BASE)
        assert cached == fresh, tier


def test_cached_passport_equals_the_assembled_one_in_every_state_and_tier(
    tagged: Database, tmp_path: Path
) -> None:
    cache = PassportCache(ttl=3600)
    link = DigitalLink(gtin=BAG, serial="BA00001")
    _same_as_assembled(cache, tagged, link)  # no packaging secret yet
    item = _item(tagged, "BA00001")
    secret = _secret(tagged, "BA00001")
    _same_as_assembled(cache, tagged, link)  # claimable
    token = ownership.claim(tagged, item, secret, now=T0)
    _same_as_assembled(cache, tagged, link)  # one owner
    code, _ = ownership.start_transfer(tagged, item, token, now=T0)
    token = ownership.accept_transfer(tagged, item, code, now=datetime(2026, 5, 3, tzinfo=UTC))
    _same_as_assembled(cache, tagged, link)  # two owners
    ownership.report_lost(tagged, item, token, status="stolen")
    _same_as_assembled(cache, tagged, link)  # stolen
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=4))
    query = dict(part.split("=") for part in url.query.split("&"))
    scans.verify_scan(tagged, master, link, query["e"], query["c"], now=T0)
    _same_as_assembled(cache, tagged, link)  # a recorded verdict
    _same_as_assembled(cache, tagged, DigitalLink(gtin=BAG))  # a model: no item parts
    lot = find_item(tagged, BAG, "BA00001").lot
    assert lot is not None
    _same_as_assembled(cache, tagged, DigitalLink(gtin=BAG, lot=lot))


def test_ownership_and_lost_reports_show_at_once_though_the_rest_is_cached(
    tagged: Database,
) -> None:
    builds: list[str] = []

    def counting(db: Database, link: DigitalLink, tier: str, lang: str, base: str) -> Frozen:
        builds.append(tier)
        return freeze(db, link, tier, lang, base)

    cache = PassportCache(ttl=3600, build=counting)
    link = DigitalLink(gtin=BAG, serial="BA00002")
    before = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert before["ownership"]["owners"] == 0
    item = _item(tagged, "BA00002")
    token = ownership.claim(tagged, item, _secret(tagged, "BA00002"), now=T0)
    ownership.report_lost(tagged, item, token, status="lost")
    after = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert after["ownership"] == {
        "owners": 1,
        "since": "2026-05-01T10:00:00Z",
        "ownedSince": ["2026-05-01T10:00:00Z"],
        "lostOrStolen": True,
        "report": "lost",
        "claimable": False,
    }
    ownership.report_lost(tagged, item, token, status=None)
    found = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert found["ownership"]["lostOrStolen"] is False
    assert builds == ["public"]  # one assembly served all three answers


def test_a_new_verdict_shows_at_once_and_the_counter_only_to_authorities(
    tagged: Database,
) -> None:
    cache = PassportCache(ttl=3600)
    link = DigitalLink(gtin=BAG, serial="BA00003")
    assert json.loads(cache.passport(tagged, link, "public", "en", BASE))["authenticity"] == {
        "verdict": None,
        "checkedAt": None,
    }
    with tagged.transaction() as s:
        s.add(
            TagScanRow(
                item_id=_item(tagged, "BA00003"),
                verdict="possible_clone",
                reason="6400 km in 1 h",
                counter=8,
                scanned_at=T0,
            )
        )
    public = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    authority = json.loads(cache.passport(tagged, link, "authority", "en", BASE))
    assert public["authenticity"] == {
        "verdict": "possible_clone",
        "checkedAt": "2026-05-01T10:00:00Z",
    }
    assert authority["authenticity"]["counter"] == 8


def test_a_scan_whose_mac_failed_does_not_brand_the_public_passport(tagged: Database) -> None:
    cache = PassportCache(ttl=3600)
    link = DigitalLink(gtin=BAG, serial="BA00003")
    item = _item(tagged, "BA00003")
    with tagged.transaction() as s:
        s.add(TagScanRow(item_id=item, verdict="authentic", reason="", counter=4, scanned_at=T0))
        later = datetime(2026, 5, 2, tzinfo=UTC)
        s.add(TagScanRow(item_id=item, verdict="not_authentic", reason="bad MAC", scanned_at=later))
    public = json.loads(cache.passport(tagged, link, "public", "en", BASE))
    assert public["authenticity"] == {"verdict": "authentic", "checkedAt": "2026-05-01T10:00:00Z"}
    _same_as_assembled(cache, tagged, link)


def test_an_expired_passport_is_served_while_it_is_rebuilt_in_the_background(
    tagged: Database,
) -> None:
    release = threading.Event()
    generation = iter(range(1, 100))

    def slow(db: Database, link: DigitalLink, tier: str, lang: str, base: str) -> Frozen:
        number = next(generation)
        if number > 1:
            release.wait(5)
        return Frozen(json.dumps({"generation": number}).encode(), None, time.monotonic())

    cache = PassportCache(ttl=0.0, build=slow)
    link = DigitalLink(gtin=BAG, serial="BA00001")
    assert json.loads(cache.passport(tagged, link, "public", "en", BASE))["generation"] == 1
    # Expired: the old bytes answer at once; one rebuild runs (not one per request).
    for _ in range(3):
        assert json.loads(cache.passport(tagged, link, "public", "en", BASE))["generation"] == 1
    release.set()
    cache.close()
    assert json.loads(cache.passport(tagged, link, "public", "en", BASE))["generation"] == 2
    cache.close()


def test_tag_scan_verdicts_are_not_provenance_steps(tagged: Database, tmp_path: Path) -> None:
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    item = _item(tagged, "BA00004")
    link = DigitalLink(gtin=BAG, serial="BA00004")
    before = passport_json(tagged, BAG, "BA00004", None, tier="authority", base_url=BASE)
    for counter in (1, 2, 3):
        url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=counter))
        query = dict(part.split("=") for part in url.query.split("&"))
        scans.verify_scan(tagged, master, link, query["e"], query["c"])
    assert verdict_events.publish_all(tagged, "mics-operator") == 3
    after = passport_json(tagged, BAG, "BA00004", None, tier="authority", base_url=BASE)
    assert after["provenance"] == before["provenance"]
    assert after["authenticity"]["counter"] == 3


def test_two_publishers_on_one_database_capture_each_verdict_once(
    tagged: Database, tmp_path: Path
) -> None:
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    for serial in ("BA00001", "BA00002", "BA00003"):
        item = _item(tagged, serial)
        for counter in (1, 2):
            url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=counter))
            query = dict(part.split("=") for part in url.query.split("&"))
            link = DigitalLink(gtin=BAG, serial=serial)
            scans.verify_scan(tagged, master, link, query["e"], query["c"])
    lock = tmp_path / "publisher.lock"
    publishers = [
        verdict_events.VerdictPublisher(tagged, "mics-operator", delay=0.01, lock_file=lock)
        for _ in range(2)
    ]
    threads = [threading.Thread(target=p.publish) for p in publishers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with tagged.read() as s:
        ids = list(s.scalars(select(TagScanRow.event_id)))
        stored = s.scalar(select(func.count()).where(EventRow.event_id.in_(ids)))
    assert len(ids) == 6 and None not in ids  # noqa: PT018
    assert stored == 6


def test_write_gate_queues_sqlite_writers_and_leaves_postgresql_alone(tmp_path: Path) -> None:
    one = Database.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    two = Database.from_url(f"sqlite:///{tmp_path / 'a.db'}")
    other = Database.from_url(f"sqlite:///{tmp_path / 'b.db'}")
    assert write_gate(one) is write_gate(two)
    assert write_gate(one) is not write_gate(other)
    assert write_gate(one).lock_file == (tmp_path / "a.db.write-lock").resolve()
    inside, most = 0, 0

    def writer() -> None:
        nonlocal inside, most
        with write_gate(one)():
            inside += 1
            most = max(most, inside)
            time.sleep(0.005)
            inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    postgres = Database.from_url("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert write_gate(postgres).lock_file is None
    for db in (one, two, other, postgres):
        db.dispose()


def _repair_event(serial: str, when: str) -> dict[str, object]:
    event = {
        "type": "ObjectEvent",
        "eventTime": when,
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{BAG}/21/{serial}"],
        "action": "OBSERVE",
        "bizStep": "repairing",
    }
    return epcis_document([event], creationDate=when)


def _due_now(cache: PassportCache) -> None:
    """Make every entry fall due (as if ``ttl`` had passed) without waiting."""
    for key, (_, frozen) in list(cache._entries.items()):
        cache._entries[key] = (0.0, frozen)


def test_a_due_passport_is_rebuilt_only_when_its_provenance_or_product_changed(
    tagged: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.passport.view import product_part

    assembled = count_assemblies(monkeypatch)
    products: list[str] = []
    real_part = product_part

    def counting_part(*args: object, **kwargs: object) -> dict[str, object]:
        products.append(str(args[1]))
        return real_part(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("mics.passport.passport_cache.product_part", counting_part)
    cache = PassportCache(ttl=3600)
    first, second = DigitalLink(gtin=BAG, serial="BA00001"), DigitalLink(gtin=BAG, serial="BA00002")
    cache.passport(tagged, first, "public", "en", BASE)
    cache.passport(tagged, second, "public", "en", BASE)
    assert assembled == ["BA00001", "BA00002"]
    assert products == [BAG]  # one product part for both items

    # Due, nothing new: checked, kept.
    _due_now(cache)
    cache.passport(tagged, first, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001", "BA00002"]

    # Tag-scan verdict events name the item but are not provenance: still kept.
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    item = _item(tagged, "BA00001")
    url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=3))
    query = dict(part.split("=") for part in url.query.split("&"))
    scans.verify_scan(tagged, master, first, query["e"], query["c"])
    assert verdict_events.publish_all(tagged, "mics-operator") == 1
    _due_now(cache)
    cache.passport(tagged, first, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001", "BA00002"]

    # A repair event on the first bag: it (and only it) is rebuilt and shows the step.
    capture_document(tagged, _repair_event("BA00001", "2026-05-02T10:00:00+01:00"), "maison-aurora")
    _due_now(cache)
    cache.passport(tagged, first, "public", "en", BASE)
    cache.passport(tagged, second, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001", "BA00002", "BA00001"]
    steps = json.loads(cache.passport(tagged, first, "public", "en", BASE))["provenance"]
    assert [row["step"] for row in steps["timeline"]] == ["repairing"]
    _same_as_assembled(cache, tagged, first)


def test_many_verdicts_and_an_unmarked_one_leave_a_due_passport_as_it_was(
    tagged: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More verdict events than ``CHANGES_LIMIT`` are not a change (they are not read at all).

    A verdict captured but not yet marked in the outbox is read and recognised
    by its body; an ordinary event among them is a change.
    """
    from mics.passport.passport_cache import CHANGES_LIMIT

    assembled = count_assemblies(monkeypatch)
    cache = PassportCache(ttl=3600)
    link = DigitalLink(gtin=BAG, serial="BA00001")
    cache.passport(tagged, link, "public", "en", BASE)
    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    item = _item(tagged, "BA00001")
    for counter in range(1, CHANGES_LIMIT + 12):
        url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=counter))
        query = dict(part.split("=") for part in url.query.split("&"))
        scans.verify_scan(tagged, master, link, query["e"], query["c"])
    assert verdict_events.publish_all(tagged, "mics-operator") == CHANGES_LIMIT + 11
    _due_now(cache)
    cache.passport(tagged, link, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001"]

    # Captured, not yet marked (the publisher between its two steps): read, still no change.
    url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=CHANGES_LIMIT + 20))
    query = dict(part.split("=") for part in url.query.split("&"))
    scans.verify_scan(tagged, master, link, query["e"], query["c"])
    with tagged.read() as session:
        pending = session.scalars(select(TagScanRow).where(TagScanRow.event_id.is_(None))).all()
        assert len(pending) == 1
    unmarked = verdict_events.PendingScan(
        pending[0].id,
        pending[0].verdict,
        pending[0].reason,
        pending[0].scanned_at,
        None,
        None,
        pending[0].counter,
        BAG,
        "BA00001",
        None,
    )
    capture_events(
        tagged, [verdict_events.verdict_event(unmarked)], verdict_events.CONTEXT, "mics-operator"
    )
    _due_now(cache)
    cache.passport(tagged, link, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001"]

    # An ordinary event after them all is a change.
    capture_document(tagged, _repair_event("BA00001", "2026-05-03T10:00:00+01:00"), "maison-aurora")
    _due_now(cache)
    cache.passport(tagged, link, "public", "en", BASE)
    cache.close()
    assert assembled == ["BA00001", "BA00001"]


def test_a_product_edit_reaches_every_cached_item_of_that_product(tagged: Database) -> None:
    from mics.registry.store import ProductRow

    cache = PassportCache(ttl=3600)
    links = [DigitalLink(gtin=BAG, serial=s) for s in ("BA00001", "BA00002")]
    for link in links:
        assert json.loads(cache.passport(tagged, link, "public", "en", BASE))["product"]["name"]
    with tagged.transaction() as s:
        product = s.get(ProductRow, "borsa-aurora")
        assert product is not None
        product.name = "Borsa Aurora II"
    for key, entry in list(cache._shared.items()):
        cache._shared[key] = (0.0, *entry[1:])  # the product part falls due too
    _due_now(cache)
    for link in links:
        cache.passport(tagged, link, "public", "en", BASE)  # due: checked in the background
    cache.close()
    for link in links:
        found = json.loads(cache.passport(tagged, link, "public", "en", BASE))
        assert found["product"]["name"] == "Borsa Aurora II"


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture
def master_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.mark.anyio
async def test_scan_answers_carry_this_scans_verdict_and_the_current_owner_status(
    client: httpx.AsyncClient, tagged: Database, master_home: Path
) -> None:
    master = tags.load_or_create_master_key(master_home, Settings.from_env().instance)
    item = _item(tagged, "BA00005")

    async def tap(counter: int) -> dict[str, object]:
        url = urlsplit(tags.simulate_scan_url(tagged, master, item, BASE, counter=counter))
        answer = await client.get(f"{url.path}?{url.query}", headers={"Accept": "application/json"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        body: dict[str, object] = answer.json()
        return body

    first = await tap(1)
    assert first["verdict"] == "authentic"
    assert first["passport"]["authenticity"]["verdict"] == "authentic"  # type: ignore[index]
    replay = await tap(1)
    assert replay["passport"]["authenticity"]["verdict"] == "replay"  # type: ignore[index]
    token = ownership.claim(tagged, item, _secret(tagged, "BA00005"))
    ownership.report_lost(tagged, item, token, status="stolen")
    stolen = await tap(2)
    assert stolen["verdict"] == "stolen"
    passport = stolen["passport"]
    assert passport["authenticity"]["verdict"] == "stolen"  # type: ignore[index]
    assert passport["ownership"]["report"] == "stolen"  # type: ignore[index]
    assert passport["ownership"]["owners"] == 1  # type: ignore[index]
    assert "counter" not in passport["authenticity"]  # type: ignore[index]
    machine = await client.get(f"/01/{BAG}/21/BA00005", headers={"Accept": "application/json"})
    assert machine.json()["authenticity"]["verdict"] == "stolen"
    assert machine.json()["ownership"]["lostOrStolen"] is True


@pytest.mark.anyio
async def test_the_verdict_drain_never_holds_the_event_loop_behind_a_long_capture(
    tagged: Database, tmp_path: Path
) -> None:
    import asyncio

    master = tags.load_or_create_master_key(tmp_path / "home", "mics.test/cache")
    link = DigitalLink(gtin=BAG, serial="BA00005")
    url = urlsplit(tags.simulate_scan_url(tagged, master, _item(tagged, "BA00005"), BASE))
    query = dict(part.split("=") for part in url.query.split("&"))
    scans.verify_scan(tagged, master, link, query["e"], query["c"])
    held, release = threading.Event(), threading.Event()

    def slow_events() -> Iterator[dict[str, object]]:
        yield {
            "type": "ObjectEvent",
            "eventTime": "2026-05-01T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [f"https://id.gs1.org/01/{BAG}/21/BA00006"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
        }
        held.set()  # the first batch is being read: the capture's transaction is open
        release.wait(5)

    def long_capture() -> None:  # an upload still streaming in, mid-transaction
        capture_events(tagged, slow_events(), None, "maison-aurora")

    writer = threading.Thread(target=long_capture)
    writer.start()
    held.wait(5)
    publisher = verdict_events.VerdictPublisher(tagged, "mics-operator", delay=0.0)
    await publisher.notify()
    longest, last = 0.0, time.perf_counter()
    for _ in range(40):  # 0.2 s of a ticker while the drain waits for the database
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    assert longest < 0.1
    release.set()
    writer.join()
    await publisher.idle()
    with tagged.read() as s:
        assert s.scalar(select(func.count()).where(TagScanRow.event_id.is_(None))) == 0


def test_the_write_gate_sees_a_writer_in_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = Database.from_url(f"sqlite:///{tmp_path / 'w.db'}")
    gate = write_gate(db)
    assert gate.busy() is False
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            f"f = open({str(gate.lock_file)!r}, 'a')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"  # noqa: PT018
        assert gate.busy() is True
        with pytest.raises(GateBusy), gate(wait=False):
            pass
    finally:
        holder.communicate("\n", timeout=10)
    assert gate.busy() is False
    with gate(wait=False):
        assert gate.busy() is True  # held by this thread now
    db.dispose()
