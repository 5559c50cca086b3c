"""The WAL checkpointer thread: pages reach the database file without a committer's help."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from mics.config import Settings
from mics.db import Database
from mics.runtime import heap
from mics.storage import checkpoints

ROWS, ROW_BYTES = 600, 4000  # ~2.4 MB: ~600 pages, under SQLite's 1,000-page automatic checkpoint


def _fill(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)"))
    for _ in range(ROWS // 100):
        with db.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO blob (data) VALUES (randomblob(:size))"),
                [{"size": ROW_BYTES}] * 100,
            )


def _settled_size(path: Path, at_least: int, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while path.stat().st_size < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    return path.stat().st_size


def test_without_the_thread_the_pages_stay_in_the_wal(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'plain.db'}")
    _fill(db)
    assert (tmp_path / "plain.db").stat().st_size < ROWS * ROW_BYTES // 4
    assert (tmp_path / "plain.db-wal").stat().st_size > ROWS * ROW_BYTES


def test_the_thread_moves_committed_pages_into_the_database_file(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'served.db'}")
    checkpointer = checkpoints.start(db.engine)
    assert checkpointer is not None
    try:
        _fill(db)
        size = _settled_size(tmp_path / "served.db", ROWS * ROW_BYTES)
        assert size >= ROWS * ROW_BYTES
        # the pass that copied the pages counts itself once its sync returns (slow disks)
        deadline = time.monotonic() + 5
        while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints > 0
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM blob")).scalar() == ROWS
    finally:
        checkpointer.stop()
    assert not checkpointer.running


def test_connections_checkpoint_themselves_only_past_the_fallback_while_it_runs(
    tmp_path: Path,
) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")

    def threshold() -> int:
        with db.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() or 0)

    assert threshold() == 1000  # SQLite's default, on a connection opened before the thread
    checkpointer = checkpoints.start(db.engine)
    assert checkpointer is not None
    assert threshold() == checkpoints.FALLBACK_PAGES  # the idle one was reopened
    checkpointer.stop()
    assert threshold() == 1000


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_nothing_to_checkpoint_without_a_database_file(url: str) -> None:
    assert checkpoints.start(Database.from_url(url).engine) is None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_server_runs_the_thread_for_its_lifetime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.api import create_app

    monkeypatch.setattr(heap, "freeze_baseline", lambda: None)  # the test process stays collectable

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", home=tmp_path / "home")
    db = Database.from_url(settings.database_url)
    db.upgrade()
    app = create_app(settings, db)
    before = {thread.name for thread in _threads()}
    async with app.router.lifespan_context(app):
        assert "sqlite-checkpointer" in {thread.name for thread in _threads()} - before
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/health")).status_code == 200
    assert "sqlite-checkpointer" not in {thread.name for thread in _threads()}


@pytest.mark.anyio
async def test_a_bad_worker_count_stops_the_server_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.api import create_app

    monkeypatch.setenv("MICS_CAPTURE_WORKERS", "lots")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", home=tmp_path / "home")
    app = create_app(settings, Database.from_url(settings.database_url))
    before = {thread.name for thread in _threads()}
    with pytest.raises(ValueError, match="MICS_CAPTURE_WORKERS='lots'"):
        async with app.router.lifespan_context(app):
            pass
    assert "sqlite-checkpointer" not in {thread.name for thread in _threads()} - before


def _threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.is_alive()]


def test_the_wal_file_is_cut_back_after_a_burst(tmp_path: Path) -> None:
    from mics.db import WAL_SIZE_LIMIT

    db = Database.from_url(f"sqlite:///{tmp_path / 'burst.db'}")
    checkpointer = checkpoints.start(db.engine)
    assert checkpointer is not None
    wal = tmp_path / "burst.db-wal"
    try:
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE blob (id INTEGER PRIMARY KEY, data BLOB)"))
            conn.execute(  # one transaction of ~24 MB: the WAL grows past the limit
                text("INSERT INTO blob (data) VALUES (randomblob(:size))"),
                [{"size": 4000}] * 6000,
            )
        assert wal.stat().st_size > WAL_SIZE_LIMIT
        deadline, small = time.monotonic() + 10, 0
        while time.monotonic() < deadline and wal.stat().st_size > WAL_SIZE_LIMIT:
            with db.engine.begin() as conn:  # a writer after the checkpoint resets the WAL
                conn.execute(text("INSERT INTO blob (data) VALUES (x'00')"))
            small += 1
            time.sleep(0.05)
        assert wal.stat().st_size <= WAL_SIZE_LIMIT
    finally:
        checkpointer.stop()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM blob")).scalar_one() == 6000 + small
