"""Scan verification: verdicts, the counter compare-and-set, verdict events in the log."""

from __future__ import annotations

import itertools
import math
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from mics.db import Database
from mics.errors import InvalidInput, NotFound, TooManyRequests
from mics.ledger.store.tables import HeadRow as LedgerHeadRow
from mics.passport import rejected, scans, tags, verdict_events
from mics.passport.authenticity import GeoPoint
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.passport.rejected import rejected_scans
from mics.passport.scan_limits import (
    CLIENT_BURST,
    CLIENT_REFILL_S,
    TAG_BURST,
    TAG_REFILL_S,
    ScanLimiter,
)
from mics.passport.store import ReadPointRow, TagScanRow
from mics.passport.sun import SunMasterKey, simulate_sun
from mics.registry import find_item
from mics.trace.store import EventRow

BASE = "https://mics.test"
BAG, CHAIR = "08012345000012", "08012345000111"
MILAN = GeoPoint(45.4642, 9.19)
NEW_YORK = GeoPoint(40.7128, -74.006)
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def demo_db(tagged: Database) -> Database:
    return tagged


@pytest.fixture
def any_demo_db(tagged_db: Database) -> Database:
    """SQLite and, when MICS_TEST_POSTGRES_URL is set, PostgreSQL."""
    return tagged_db


@pytest.fixture
def master(tmp_path: Path) -> SunMasterKey:
    return tags.load_or_create_master_key(tmp_path / "home", "mics.test/scans")


def _item(db: Database, gtin: str = BAG, serial: str = "BA00001") -> int:
    return find_item(db, gtin, serial).id


def _scan_params(url: str) -> tuple[DigitalLink, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parse_digital_link(parts.path), query["e"][0], query["c"][0]


def _scan(
    db: Database,
    master: SunMasterKey,
    url: str,
    *,
    place: GeoPoint | None = None,
    now: datetime = T0,
) -> scans.ScanResult:
    link, e, c = _scan_params(url)
    return scans.verify_scan(db, master, link, e, c, place=place, now=now)


def test_first_scan_of_a_genuine_tag_is_authentic(demo_db: Database, master: SunMasterKey) -> None:
    item = _item(demo_db)
    url = tags.simulate_scan_url(demo_db, master, item, BASE, counter=7)
    result = _scan(demo_db, master, url)
    assert result.verdict == "authentic"
    assert result.counter == 7
    assert result.uid == tags.tag_of_item(demo_db, item).uid
    assert tags.tag_of_item(demo_db, item).counter == 7


def test_the_same_url_twice_is_a_replay(demo_db: Database, master: SunMasterKey) -> None:
    url = tags.simulate_scan_url(demo_db, master, _item(demo_db), BASE, counter=3)
    assert _scan(demo_db, master, url).verdict == "authentic"
    second = _scan(demo_db, master, url, now=T0 + timedelta(minutes=1))
    assert second.verdict == "replay"
    assert "not above the last accepted counter 3" in second.reason
    older = tags.simulate_scan_url(demo_db, master, _item(demo_db), BASE, counter=2)
    assert _scan(demo_db, master, older, now=T0 + timedelta(minutes=2)).verdict == "replay"


def test_tag_of_another_item_is_not_authentic(demo_db: Database, master: SunMasterKey) -> None:
    other = tags.simulate_scan_url(demo_db, master, _item(demo_db, serial="BA00002"), BASE)
    _, e, c = _scan_params(other)
    link = DigitalLink(gtin=BAG, serial="BA00001")
    result = scans.verify_scan(demo_db, master, link, e, c, now=T0)
    assert result.verdict == "not_authentic"
    assert "is not the tag bound to this item" in result.reason
    assert tags.tag_of_item(demo_db, _item(demo_db)).counter is None  # nothing moved


def test_unregistered_tag_and_bad_mac_are_not_authentic(
    demo_db: Database, master: SunMasterKey
) -> None:
    stranger = bytes.fromhex("04AABBCCDDEEFF")
    message = simulate_sun(stranger, 1, master.meta_read_key, master.file_read_key(stranger))
    link = DigitalLink(gtin=BAG, serial="BA00001")
    unknown = scans.verify_scan(demo_db, master, link, message.e.hex(), message.c.hex(), now=T0)
    assert unknown.verdict == "not_authentic"
    assert "04AABBCCDDEEFF is not registered" in unknown.reason
    url = tags.simulate_scan_url(demo_db, master, _item(demo_db), BASE, counter=5)
    _, e, c = _scan_params(url)
    forged = ("0" if c[0] != "0" else "1") + c[1:]
    bad = scans.verify_scan(demo_db, master, link, e, forged, now=T0)
    assert bad.verdict == "not_authentic"
    assert "SDMMAC" in bad.reason
    assert bad.uid is None and bad.counter is None  # noqa: PT018


def test_wrong_master_key_is_not_authentic(demo_db: Database, master: SunMasterKey) -> None:
    url = tags.simulate_scan_url(demo_db, master, _item(demo_db), BASE)
    other = SunMasterKey(key=bytes(16), system_identifier=b"elsewhere")
    result = _scan(demo_db, other, url)
    assert result.verdict == "not_authentic"
    assert "PICCDataTag" in result.reason


def test_far_places_in_little_time_are_a_possible_clone(
    demo_db: Database, master: SunMasterKey
) -> None:
    item = _item(demo_db)
    first = tags.simulate_scan_url(demo_db, master, item, BASE, counter=1)
    assert _scan(demo_db, master, first, place=MILAN).verdict == "authentic"
    second = tags.simulate_scan_url(demo_db, master, item, BASE, counter=2)
    clone = _scan(demo_db, master, second, place=NEW_YORK, now=T0 + timedelta(hours=1))
    assert clone.verdict == "possible_clone"
    assert clone.distance_km is not None and 6400 < clone.distance_km < 6500  # noqa: PT018
    third = tags.simulate_scan_url(demo_db, master, item, BASE, counter=3)
    later = _scan(demo_db, master, third, place=NEW_YORK, now=T0 + timedelta(hours=20))
    assert later.verdict == "authentic"  # same place as the last scan


def test_registered_read_point_gives_the_place(demo_db: Database, master: SunMasterKey) -> None:
    tags.put_read_point(demo_db, "customs-jfk", "JFK customs", NEW_YORK)
    item = _item(demo_db)
    first = tags.simulate_scan_url(demo_db, master, item, BASE, counter=1)
    assert _scan(demo_db, master, first, place=MILAN).verdict == "authentic"
    link, e, c = _scan_params(tags.simulate_scan_url(demo_db, master, item, BASE, counter=2))
    result = scans.verify_scan(
        demo_db, master, link, e, c, read_point="customs-jfk", now=T0 + timedelta(hours=2)
    )
    assert result.verdict == "possible_clone"
    with pytest.raises(NotFound, match="no read point"):
        scans.verify_scan(demo_db, master, link, e, c, read_point="nowhere", now=T0)


def test_a_read_point_gln_is_checked_before_it_names_verdict_events(demo_db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        tags.put_read_point(demo_db, "shop-milano", "Shop", MILAN, gln="8012345000016")
    assert (caught.value.field, caught.value.value) == ("gln", "8012345000016")
    tags.put_read_point(demo_db, "shop-milano", "Shop", MILAN, gln="8012345000012")
    with demo_db.read() as s:
        assert s.scalar(select(func.count()).select_from(ReadPointRow)) == 1


def test_stolen_item_scan_says_so(demo_db: Database, master: SunMasterKey) -> None:
    ownership = pytest.importorskip("mics.passport.ownership")
    item = _item(demo_db)
    secret = next(
        s
        for s in ownership.issue_secrets(demo_db, "borsa-aurora", reissue=True)
        if s.item_id == item
    )
    token = ownership.claim(demo_db, item, secret.secret)
    ownership.report_lost(demo_db, item, token, status="stolen")
    url = tags.simulate_scan_url(demo_db, master, item, BASE)
    result = _scan(demo_db, master, url)
    assert result.verdict == "stolen"
    assert "reported stolen" in result.reason


def test_malformed_parameters_and_unknown_items_raise(
    demo_db: Database, master: SunMasterKey
) -> None:
    link = DigitalLink(gtin=BAG, serial="BA00001")
    with pytest.raises(InvalidInput, match="e"):
        scans.verify_scan(demo_db, master, link, "ABC", "00" * 8)
    with pytest.raises(InvalidInput, match="c"):
        scans.verify_scan(demo_db, master, link, "00" * 16, "zz" * 8)
    with pytest.raises(NotFound, match="NOPE"):
        scans.verify_scan(
            demo_db, master, DigitalLink(gtin=BAG, serial="NOPE"), "00" * 16, "00" * 8
        )
    with pytest.raises(InvalidInput, match="serial"):
        scans.verify_scan(demo_db, master, DigitalLink(gtin=BAG), "00" * 16, "00" * 8)


def test_concurrent_scans_of_one_url_accept_it_once(
    any_demo_db: Database, master: SunMasterKey
) -> None:
    url = tags.simulate_scan_url(any_demo_db, master, _item(any_demo_db), BASE, counter=9)
    link, e, c = _scan_params(url)
    verdicts: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def tap() -> None:
        try:
            start.wait()
            verdicts.append(scans.verify_scan(any_demo_db, master, link, e, c).verdict)
        except BaseException as error:  # reported below, never swallowed
            errors.append(error)

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(verdicts) == ["authentic"] + ["replay"] * 7
    assert tags.tag_of_item(any_demo_db, _item(any_demo_db)).counter == 9


def test_verdicts_become_epcis_events_in_the_ledger(
    any_demo_db: Database, master: SunMasterKey
) -> None:
    item = _item(any_demo_db)
    url = tags.simulate_scan_url(any_demo_db, master, item, BASE, counter=4)
    _scan(any_demo_db, master, url, place=MILAN)
    _scan(any_demo_db, master, url, now=T0 + timedelta(minutes=5))
    with any_demo_db.read() as s:
        size_before = s.scalar(select(LedgerHeadRow.size))
    assert verdict_events.publish_all(any_demo_db, "mics-operator") == 2
    assert verdict_events.publish_all(any_demo_db, "mics-operator") == 0
    with any_demo_db.read() as s:
        ids = list(s.scalars(select(TagScanRow.event_id).order_by(TagScanRow.id)))
        events = {
            r.event_id: r for r in s.scalars(select(EventRow).where(EventRow.event_id.in_(ids)))
        }
        size_after = s.scalar(select(LedgerHeadRow.size))
        count = s.scalar(select(func.count()).select_from(EventRow))
    assert len(events) == 2
    first, second = (events[str(i)] for i in ids)
    assert (first.biz_step, first.disposition) == ("inspecting", "conformant")
    assert second.disposition == verdict_events.SUSPECTED_COUNTERFEIT
    assert first.partner_id == "mics-operator"
    assert first.read_point == "geo:45.46420,9.19000"
    assert '"mics:verdict": "replay"' in second.body or '"mics:verdict":"replay"' in second.body
    assert size_before is not None
    assert size_after == size_before + 2
    assert count is not None and count >= 2  # noqa: PT018


def test_verdict_dispositions_are_cbv_terms_or_user_uris() -> None:
    from mics.trace.cbv import DISPOSITION

    for verdict in verdict_events.VERDICTS:
        term = verdict_events.DISPOSITIONS[verdict]
        assert DISPOSITION.term(term) is not None or term.startswith("https://mics.example/")


def test_forged_scans_do_not_brand_a_genuine_item(demo_db: Database, master: SunMasterKey) -> None:
    from mics.passport.view import passport_json

    item = _item(demo_db)
    url = tags.simulate_scan_url(demo_db, master, item, BASE, counter=9)
    assert _scan(demo_db, master, url).verdict == "authentic"
    link = DigitalLink(gtin=BAG, serial="BA00001")
    forged = scans.verify_scan(
        demo_db, master, link, "0" * 32, "0" * 16, now=T0 + timedelta(minutes=5)
    )
    assert forged.verdict == "not_authentic"  # the scanner is told at once...
    public = passport_json(demo_db, BAG, "BA00001", None, base_url=BASE)
    assert public["authenticity"]["verdict"] == "authentic"  # ...later visitors are not misled


def _every_verdict_event() -> list[dict[str, object]]:
    """A verdict event of every kind, place and counter that ``verify_scan`` can record."""
    at = datetime(2026, 5, 1, 10, 0, 0, 123456)  # naive UTC, as SQLite hands it back
    places = [(None, None, None), (45.4642, 9.19, None), (None, None, "8012345000012")]
    return [
        verdict_events.verdict_event(
            verdict_events.PendingScan(
                n, verdict, f"reason of {verdict}", at, lat, lon, counter, BAG, "BA/0%01", gln
            )
        )
        for n, (verdict, (lat, lon, gln), counter) in enumerate(
            (v, p, c) for v in verdict_events.VERDICTS for p in places for c in (None, 7)
        )
    ]


def test_every_kind_of_verdict_event_is_a_valid_epcis_event() -> None:
    """Publishing captures verdicts unvalidated (``built=True``): this is where they are checked."""
    from mics.trace.validate import validate_event

    events = _every_verdict_event()
    assert len(events) == len(verdict_events.VERDICTS) * 6
    for index, event in enumerate(events):
        found = validate_event(
            event, index, now=T0 + timedelta(days=1), context=verdict_events.CONTEXT
        )
        assert found == [], event
    kinds = {(e["disposition"], "readPoint" in e, "mics:tagCounter" in e) for e in events}
    assert len(kinds) == len(set(verdict_events.DISPOSITIONS.values())) * 4


def test_verdict_events_pass_the_gs1_json_schema(shared: object) -> None:
    from tests.trace.test_validate import official_schema

    schema = official_schema(shared.path("gs1-epcis", "JSON-Schema"))  # type: ignore[attr-defined]
    document = {
        "@context": verdict_events.CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-05-02T10:00:00Z",
        "epcisBody": {"eventList": _every_verdict_event()},
    }
    assert [error.message for error in schema.iter_errors(document)] == []


# --- forged scans: out of the log, in a bounded stream, rate-limited (issue 13, item 15) -------


def test_not_authentic_scans_stay_out_of_the_log_in_a_bounded_stream(
    any_demo_db: Database, master: SunMasterKey
) -> None:
    item, other = _item(any_demo_db), _item(any_demo_db, serial="BA00002")
    link = DigitalLink(gtin=BAG, serial="BA00001")
    forged = scans.verify_scan(any_demo_db, master, link, "0" * 32, "0" * 16, now=T0, place=MILAN)
    _, e, c = _scan_params(tags.simulate_scan_url(any_demo_db, master, other, BASE, counter=3))
    moved = scans.verify_scan(any_demo_db, master, link, e, c, now=T0 + timedelta(minutes=1))
    assert (forged.verdict, moved.verdict) == ("not_authentic", "not_authentic")
    with any_demo_db.read() as s:
        size_before = s.scalar(select(LedgerHeadRow.size))
    assert verdict_events.publish_all(any_demo_db, "mics-operator") == 0  # nothing for the log
    with any_demo_db.read() as s:
        assert s.scalar(select(LedgerHeadRow.size)) == size_before
        assert s.scalar(select(func.count()).select_from(TagScanRow)) == 0
    kept = rejected_scans(any_demo_db, item)
    assert [r.reason for r in kept] == [moved.reason, forged.reason]  # newest first
    assert (kept[0].uid, kept[0].counter) == (tags.tag_of_item(any_demo_db, other).uid, 3)
    assert (kept[1].uid, kept[1].latitude, kept[1].scanned_at) == (None, MILAN.latitude, T0)
    # genuine scans and replays are evidence, and enter the log as before
    url = tags.simulate_scan_url(any_demo_db, master, item, BASE, counter=4)
    assert _scan(any_demo_db, master, url).verdict == "authentic"
    assert _scan(any_demo_db, master, url).verdict == "replay"
    assert verdict_events.publish_all(any_demo_db, "mics-operator") == 2


def test_an_item_keeps_only_its_newest_rejected_scans(
    demo_db: Database, master: SunMasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rejected, "REJECTED_KEPT", 5)
    bag, chair = DigitalLink(gtin=BAG, serial="BA00001"), DigitalLink(gtin=CHAIR, serial="SQ00001")
    for minute in range(8):
        at = T0 + timedelta(minutes=minute)
        scans.verify_scan(demo_db, master, bag, "0" * 32, "0" * 16, now=at)
    scans.verify_scan(demo_db, master, chair, "0" * 32, "0" * 16, now=T0)
    kept = rejected_scans(demo_db, _item(demo_db))
    assert [r.scanned_at for r in kept] == [T0 + timedelta(minutes=m) for m in range(7, 2, -1)]
    assert len(rejected_scans(demo_db, _item(demo_db, CHAIR, "SQ00001"))) == 1


def test_failed_scans_are_limited_per_client_and_per_tag_and_genuine_ones_are_not(
    demo_db: Database, master: SunMasterKey
) -> None:
    clock = [0.0]
    limits = ScanLimiter(clock=lambda: clock[0])
    bag = DigitalLink(gtin=BAG, serial="BA00001")

    def forge(client: str, link: DigitalLink = bag) -> str:
        return scans.verify_scan(
            demo_db, master, link, "0" * 32, "0" * 16, now=T0, limits=limits, client=client
        ).verdict

    # one tag: TAG_BURST failed scans, whoever sends them, then 429 until a token is back
    assert [forge(f"198.51.100.{n}") for n in range(TAG_BURST)] == ["not_authentic"] * TAG_BURST
    with pytest.raises(TooManyRequests) as refused:
        forge("198.51.100.200")
    assert refused.value.retry_after == math.ceil(TAG_REFILL_S)
    assert len(rejected_scans(demo_db, _item(demo_db))) == TAG_BURST  # nothing kept of it
    # a genuine tap of that tag is never refused for it; its replay is
    url = tags.simulate_scan_url(demo_db, master, _item(demo_db), BASE, counter=5)
    link, e, c = _scan_params(url)
    genuine = scans.verify_scan(demo_db, master, link, e, c, limits=limits, client="192.0.2.1")
    assert genuine.verdict == "authentic"
    with pytest.raises(TooManyRequests):
        scans.verify_scan(demo_db, master, link, e, c, limits=limits, client="192.0.2.1")
    clock[0] += TAG_REFILL_S
    assert forge("198.51.100.201") == "not_authentic"
    # one client: CLIENT_BURST failed scans over many items, then 429 for all it sends
    others = [(BAG, f"BA0000{n}") for n in range(2, 6)] + [
        (CHAIR, f"SQ0000{n}") for n in range(1, 6)
    ]
    links = (DigitalLink(gtin=gtin, serial=serial) for gtin, serial in itertools.cycle(others))
    answers = [forge("203.0.113.7", next(links)) for _ in range(CLIENT_BURST)]
    assert answers == ["not_authentic"] * CLIENT_BURST
    with pytest.raises(TooManyRequests) as refused:
        forge("203.0.113.7", next(links))
    assert refused.value.retry_after == math.ceil(CLIENT_REFILL_S)
    url = tags.simulate_scan_url(demo_db, master, _item(demo_db, serial="BA00002"), BASE)
    link, e, c = _scan_params(url)
    with pytest.raises(TooManyRequests):  # its genuine scans too, until it has waited
        scans.verify_scan(demo_db, master, link, e, c, limits=limits, client="203.0.113.7")
    clock[0] += CLIENT_REFILL_S
    again = scans.verify_scan(demo_db, master, link, e, c, limits=limits, client="203.0.113.7")
    assert again.verdict == "authentic"
