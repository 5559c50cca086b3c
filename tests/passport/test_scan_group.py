"""Group commit of tag scans: one transaction per event-loop pass, answers after its commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from tests.support import tag_demo

from mics.config import Settings
from mics.db import Database, make_engine
from mics.errors import NotFound, Unavailable
from mics.passport import scans, tags, verdict_events
from mics.passport.authenticity import GeoPoint
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.passport.store import NEVER_READ, NfcTagRow, TagScanRow
from mics.passport.sun import SunMasterKey
from mics.registry import find_item
from mics.storage.scan_group import ScanGroup, member_of, scan_group
from mics.storage.write_gate import GateBusy, write_gate

BASE = "https://mics.test"
BAG = "08012345000012"


@pytest.fixture
def master(tmp_path: Path) -> SunMasterKey:
    return tags.load_or_create_master_key(tmp_path / "home", Settings.from_env().instance)


def _url(db: Database, master: SunMasterKey, serial: str, counter: int) -> str:
    item = find_item(db, BAG, serial).id
    return tags.simulate_scan_url(db, master, item, BASE, counter=counter)


def _params(url: str) -> tuple[DigitalLink, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parse_digital_link(parts.path), query["e"][0], query["c"][0]


def _scan(db: Database, master: SunMasterKey, url: str, group: ScanGroup) -> str:
    link, e, c = _params(url)
    with member_of(group):
        return scans.verify_scan(db, master, link, e, c).verdict


def _one_authentic_scan(db: Database, master: SunMasterKey) -> ScanGroup:
    """The loop's scan group, open with BA00001's first scan in it (not yet committed)."""
    group = scan_group(db)
    assert _scan(db, master, _url(db, master, "BA00001", 1), group) == "authentic"
    return group


def _stored(db: Database) -> list[tuple[str, str]]:
    """(serial's tag uid, verdict) of every committed scan row, as another connection sees it."""
    with db.read() as s:
        return [
            (str(r.uid), r.verdict) for r in s.scalars(select(TagScanRow).order_by(TagScanRow.id))
        ]


def _counter(db: Database, serial: str) -> int:
    with db.read() as s:
        tag = s.scalar(select(NfcTagRow).where(NfcTagRow.item_id == find_item(db, BAG, serial).id))
        assert tag is not None
        return tag.counter


@pytest.mark.anyio
async def test_scans_of_one_loop_pass_commit_together_and_only_then(
    tagged: Database, master: SunMasterKey
) -> None:
    group = scan_group(tagged)
    urls = [_url(tagged, master, f"BA0000{n}", 1) for n in (1, 2, 3)]
    verdicts = [_scan(tagged, master, url, group) for url in urls]
    assert verdicts == ["authentic"] * 3
    _, committed = group.join()  # the same open group
    assert group.open
    assert _stored(tagged) == []  # nothing visible (nor said) before the group commits
    assert write_gate(tagged).busy()  # the group holds the gate meanwhile
    await committed
    assert not group.open
    assert [verdict for _, verdict in _stored(tagged)] == ["authentic"] * 3
    assert not write_gate(tagged).busy()


@pytest.mark.anyio
async def test_one_url_twice_in_one_group_is_accepted_once(
    tagged: Database, master: SunMasterKey
) -> None:
    group = scan_group(tagged)
    url = _url(tagged, master, "BA00001", 5)
    assert [_scan(tagged, master, url, group) for _ in range(2)] == ["authentic", "replay"]
    await group.join()[1]
    assert [verdict for _, verdict in _stored(tagged)] == ["authentic", "replay"]
    assert _counter(tagged, "BA00001") == 5


@pytest.mark.anyio
async def test_a_scan_that_fails_before_writing_leaves_its_group_alone(
    tagged: Database, master: SunMasterKey
) -> None:
    group = scan_group(tagged)
    good = _url(tagged, master, "BA00001", 1)
    assert _scan(tagged, master, good, group) == "authentic"
    link, e, c = _params(_url(tagged, master, "BA00002", 1))
    with pytest.raises(NotFound), member_of(group):
        scans.verify_scan(tagged, master, link, e, c, read_point="nowhere")
    await group.join()[1]
    assert [verdict for _, verdict in _stored(tagged)] == ["authentic"]


@pytest.mark.anyio
async def test_a_scan_failing_after_it_wrote_spoils_the_group_and_nothing_is_kept(
    tagged: Database, master: SunMasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = _one_authentic_scan(tagged, master)
    real = scans._RECORD.execute

    def fails(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(scans._RECORD, "execute", fails)
    with pytest.raises(Unavailable):  # after its compare-and-set moved the counter
        _scan(tagged, master, _url(tagged, master, "BA00002", 1), group)
    monkeypatch.setattr(scans._RECORD, "execute", real)
    assert not group.joinable()  # no one joins a group that cannot commit
    with pytest.raises(GateBusy):
        group.join()
    committed = group.committed
    assert committed is not None
    with pytest.raises(Unavailable):
        await committed
    assert _stored(tagged) == []
    assert _counter(tagged, "BA00001") == _counter(tagged, "BA00002") == NEVER_READ
    # the next group starts clean
    assert _scan(tagged, master, _url(tagged, master, "BA00001", 1), group) == "authentic"
    await group.join()[1]
    assert [verdict for _, verdict in _stored(tagged)] == ["authentic"]


@pytest.mark.anyio
async def test_a_failed_commit_tells_every_member_and_keeps_nothing(
    tagged: Database, master: SunMasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = _one_authentic_scan(tagged, master)
    connection = group.connection

    class Failing:
        def __getattr__(self, name: str) -> Any:
            return getattr(connection, name)

        def commit(self) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    group.connection = Failing()
    committed = group.join()[1]
    with pytest.raises(Unavailable, match="could not be recorded"):
        await committed
    assert _stored(tagged) == []
    assert not write_gate(tagged).busy()


@pytest.mark.anyio
async def test_the_publisher_goes_between_two_groups(
    tagged: Database, master: SunMasterKey
) -> None:
    group = _one_authentic_scan(tagged, master)
    async with group.paused():
        assert not group.open  # the open group committed first
        assert [verdict for _, verdict in _stored(tagged)] == ["authentic"]
        assert not group.joinable()
        with pytest.raises(GateBusy):
            group.join()
        assert verdict_events.publish_pending(tagged, "mics-operator", wait=False) == 1
    assert group.joinable()


# --- through the app ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_concurrent_scan_requests_share_groups_and_each_gets_its_verdict(
    client: httpx.AsyncClient, tagged: Database, master: SunMasterKey
) -> None:
    urls = [_url(tagged, master, f"BA0000{n}", 1) for n in (1, 2, 3, 4)]
    urls.append(urls[0])  # the first URL again: a replay, whichever group it lands in
    commits = 0
    group = scan_group(tagged)
    real = group._commit

    def counting() -> None:
        nonlocal commits
        commits += 1
        real()

    group._commit = counting  # type: ignore[method-assign]
    answers = await asyncio.gather(
        *(
            client.get(
                urlsplit(u).path + "?" + urlsplit(u).query, headers={"Accept": "application/json"}
            )
            for u in urls
        )
    )
    assert [a.status_code for a in answers] == [200] * 5
    verdicts = sorted(a.json()["verdict"] for a in answers)
    assert verdicts == ["authentic"] * 4 + ["replay"]
    assert 1 <= commits < len(urls)  # at least two scans shared a commit
    assert sorted(verdict for _, verdict in _stored(tagged)) == verdicts


@pytest.mark.anyio
async def test_a_scan_whose_group_could_not_commit_is_a_503_problem(
    client: httpx.AsyncClient,
    tagged: Database,
    master: SunMasterKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fails(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(scans._RECORD, "execute", fails)
    url = urlsplit(_url(tagged, master, "BA00001", 1))
    answer = await client.get(f"{url.path}?{url.query}", headers={"Accept": "application/json"})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Service unavailable"
    assert _stored(tagged) == []
    with tagged.read() as s:
        assert s.scalar(select(func.count()).select_from(TagScanRow)) == 0


@pytest.mark.anyio
async def test_a_cancelled_waiter_neither_cancels_its_group_nor_keeps_scans_out(
    tagged: Database, master: SunMasterKey
) -> None:
    from mics.storage.scan_group import gated as _gated

    group = scan_group(tagged)

    def answer(url: str) -> Any:
        return lambda g: _scan(tagged, master, url, g)

    first = asyncio.ensure_future(_gated(tagged, answer(_url(tagged, master, "BA00001", 1))))
    second = asyncio.ensure_future(_gated(tagged, answer(_url(tagged, master, "BA00002", 1))))
    await asyncio.sleep(0)  # both joined one group and wait for its commit
    first.cancel()
    outcome: Any = await second  # what answer() returned: the verdict
    assert outcome == "authentic"
    assert sorted(verdict for _, verdict in _stored(tagged)) == ["authentic", "authentic"]
    # a publisher cancelled while it waits for a group does not shut scans out for good
    _scan(tagged, master, _url(tagged, master, "BA00003", 1), group)

    async def pause() -> None:
        async with group.paused():
            await asyncio.sleep(10)

    waiting = asyncio.ensure_future(pause())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.sleep(0)
    assert group.joinable()


@pytest.mark.anyio
async def test_a_transaction_sqlite_lost_while_a_member_read_keeps_no_one_authentic(
    tagged: Database, master: SunMasterKey
) -> None:
    group = _one_authentic_scan(tagged, master)
    group.connection.rollback()  # as SQLite does itself on an I/O error or a full disk
    with pytest.raises(Unavailable, match="lost"):
        await group.join()[1]
    assert _stored(tagged) == []


def _second_record_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second scan row written from now on fails as a disk error would."""
    real = scans._RECORD.execute
    calls = 0

    def second_fails(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return real(*args, **kwargs)

    monkeypatch.setattr(scans._RECORD, "execute", second_fails)


async def _scan_together(
    client: httpx.AsyncClient, tagged: Database, master: SunMasterKey, count: int
) -> list[httpx.Response]:
    """``count`` tag scans sent at once (one loop pass), their JSON answers in order."""
    urls = [urlsplit(_url(tagged, master, f"BA0000{n}", 1)) for n in range(1, count + 1)]
    json = {"Accept": "application/json"}
    return list(
        await asyncio.gather(*(client.get(f"{u.path}?{u.query}", headers=json) for u in urls))
    )


@pytest.mark.anyio
async def test_every_member_of_a_spoiled_group_is_told(
    client: httpx.AsyncClient,
    tagged: Database,
    master: SunMasterKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _second_record_fails(monkeypatch)
    answers = await _scan_together(client, tagged, master, 2)
    assert [a.status_code for a in answers] == [503, 503]  # the first wrote, but it was not kept
    assert _stored(tagged) == []


@pytest.mark.anyio
async def test_a_scan_arriving_after_its_group_was_spoiled_waits_for_the_next_group(
    client: httpx.AsyncClient,
    tagged: Database,
    master: SunMasterKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _second_record_fails(monkeypatch)
    answers = await _scan_together(client, tagged, master, 3)
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[2].json()["verdict"] == "authentic"
    assert [verdict for _, verdict in _stored(tagged)] == ["authentic"]


# --- the grouped path against the plain one; groups in several processes (PostgreSQL) --------

MILAN, NEW_YORK = GeoPoint(45.4642, 9.19), GeoPoint(40.7128, -74.006)
T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def _scenario(db: Database, master: SunMasterKey) -> list[tuple[str, GeoPoint | None, datetime]]:
    """Scans of every verdict (URL, place, time), the same on every store."""
    first, second = _url(db, master, "BA00001", 1), _url(db, master, "BA00002", 3)
    other_tag = _url(db, master, "BA00002", 4).split("?", 1)[1]
    urls = [
        (first, MILAN, T0),  # authentic, first scan
        (first, MILAN, T0 + timedelta(seconds=5)),  # replay
        (second, None, T0),  # authentic
        (_url(db, master, "BA00001", 2), NEW_YORK, T0 + timedelta(minutes=1)),  # clone
        (first.split("?")[0] + "?e=" + "0" * 32 + "&c=" + "0" * 16, None, T0),  # bad MAC
        (first.split("?")[0] + "?" + other_tag, None, T0),  # another item's tag
        (_url(db, master, "BA00001", 7), MILAN, T0 + timedelta(hours=9)),  # authentic
    ]
    return urls


def _run_scenario(db: Database, master: SunMasterKey, group: ScanGroup | None) -> list[Any]:
    found = []
    for url, place, now in _scenario(db, master):
        link, e, c = _params(url)
        with member_of(group):
            result = scans.verify_scan(db, master, link, e, c, place=place, now=now)
        found.append(
            (result.verdict, result.reason, result.uid, result.counter, result.distance_km)
        )
    return found


@pytest.mark.anyio
async def test_grouped_scans_give_the_plain_path_s_verdicts_and_rows(
    db: Database, tmp_path: Path, master: SunMasterKey
) -> None:
    plain = Database.from_url(f"sqlite:///{tmp_path / 'plain.db'}")
    plain.upgrade()
    try:
        tag_demo(plain)
        tag_demo(db)
        alone = _run_scenario(plain, master, None)
        group = scan_group(db)
        together = _run_scenario(db, master, group)
        assert group.open  # every scan of the scenario in one group, not yet committed
        await group.join()[1]
        assert together == alone
        assert [v for v, *_ in alone] == [
            "authentic", "replay", "authentic", "possible_clone",
            "not_authentic", "not_authentic", "authentic",
        ]  # fmt: skip
        assert _stored(db) == _stored(plain)
        assert _counter(db, "BA00001") == _counter(plain, "BA00001") == 7
    finally:
        plain.dispose()


def test_groups_in_four_processes_accept_one_url_once(db: Database, master: SunMasterKey) -> None:
    """Four servers' scan groups on one PostgreSQL (an engine and a loop each) tap one URL."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite one write gate orders every process's groups")
    tag_demo(db)
    url = _url(db, master, "BA00001", 9)
    link, e, c = _params(url)
    with db.engine.connect() as connection:
        path = connection.exec_driver_sql("SHOW search_path").scalar()
    address = db.engine.url.render_as_string(hide_password=False)
    options = {"options": f"-csearch_path={path}"}
    others = [Database(make_engine(address, connect_args=options)) for _ in range(4)]
    start = threading.Barrier(4)
    verdicts: list[str] = []
    errors: list[BaseException] = []

    async def tap(server: Database) -> None:
        group = scan_group(server)
        start.wait()
        with member_of(group):
            verdicts.append(scans.verify_scan(server, master, link, e, c).verdict)
        await group.join()[1]

    def run(server: Database) -> None:
        try:
            asyncio.run(tap(server))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(server,)) for server in others]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for server in others:
            server.dispose()
    assert errors == []
    assert sorted(verdicts) == ["authentic"] + ["replay"] * 3
    assert sorted(verdict for _, verdict in _stored(db)) == sorted(verdicts)
    assert _counter(db, "BA00001") == 9
