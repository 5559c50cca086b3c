"""Every stored time is UTC: one column type (``mics.db.UtcDateTime``), aware on read, on
SQLite and PostgreSQL, and naive datetimes are refused on write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import DateTime, select
from sqlalchemy.exc import StatementError

from mics import registry
from mics.db import Base, Database, UtcDateTime
from mics.ledger.store.tables import CheckpointRow
from mics.registry.schemas import ItemIn
from mics.schema import import_tables


def test_every_datetime_column_is_a_utc_datetime() -> None:
    import_tables()
    columns = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, DateTime)
        or isinstance(getattr(column.type, "impl", None), DateTime)
    ]
    assert len(columns) >= 20
    plain = [
        name
        for name in columns
        if not isinstance(
            Base.metadata.tables[name.split(".")[0]].c[name.split(".")[1]].type, UtcDateTime
        )
    ]
    assert plain == []


def test_item_created_at_comes_back_aware_utc(demo_db: Database) -> None:
    item = registry.create_item(demo_db, ItemIn(product="sedia-quercia", serial="SQ-UTC-1"))
    read = registry.get_item(demo_db, item.id)
    assert read.created_at is not None
    assert read.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - read.created_at) < timedelta(minutes=5)


def test_an_aware_time_in_another_zone_is_stored_as_the_same_instant(db: Database) -> None:
    rome = timezone(timedelta(hours=2))
    moment = datetime(2026, 6, 1, 12, 30, 15, 250000, tzinfo=rome)
    with db.transaction() as s:
        s.add(CheckpointRow(size=7, root=bytes(32), note="n", created_at=moment))
    with db.read() as s:
        stored = s.scalar(select(CheckpointRow.created_at).where(CheckpointRow.size == 7))
        later = s.scalar(
            select(CheckpointRow.size).where(
                CheckpointRow.created_at > datetime(2026, 6, 1, 10, 30, 15, tzinfo=UTC)
            )
        )
    assert stored == moment
    assert stored is not None
    assert (stored.tzinfo, stored.hour) == (UTC, 10)
    assert later == 7  # comparisons in queries convert the bound value the same way


def test_a_naive_time_is_refused_on_write(db: Database) -> None:
    naive = CheckpointRow(size=8, root=bytes(32), note="n", created_at=datetime(2026, 6, 1))
    with db.transaction() as s:
        s.add(naive)
        with pytest.raises(StatementError, match="naive datetime"):
            s.flush()
        s.rollback()
    with db.read() as s:
        assert s.get(CheckpointRow, 8) is None


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_item_created_at_in_the_api_carries_its_offset(
    demo_db: Database, tmp_path: Path
) -> None:
    from mics.api import create_app
    from mics.config import Settings

    app = create_app(Settings(database_url="sqlite://", home=tmp_path / "var"), demo_db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as client:
        body = (await client.get("/api/items/1")).json()
    assert body["created_at"].endswith("Z")
    assert datetime.fromisoformat(body["created_at"]).utcoffset() == timedelta(0)
