"""Shared fixtures: the public test data in ../shared and the database URLs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mics.db import Database, make_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MICS_SHARED", str(REPO.parent / "shared")))


def shared_path(*parts: str) -> Path:
    """A folder or file under ../shared/standards, or skip the test saying why."""
    path = SHARED.joinpath("standards", *parts)
    if not path.exists():
        pytest.skip(f"public test data {path} is absent (a clone without ../shared)")
    return path


@pytest.fixture
def shared() -> type[SharedData]:
    """``shared.path("gs1-epcis", "JSON")``: public test data, or skip saying why."""
    return SharedData


class SharedData:
    path = staticmethod(shared_path)


# --- databases ------------------------------------------------------------------------------

POSTGRES_ENV = "MICS_TEST_POSTGRES_URL"
_postgres_state: dict[str, str | None] = {}


def _postgres_url() -> str:
    """The PostgreSQL URL from the environment, or skip with the reason."""
    if "url" not in _postgres_state:
        url = os.environ.get(POSTGRES_ENV)
        reason = None
        if not url:
            reason = f"{POSTGRES_ENV} is not set: PostgreSQL store tests skipped"
        else:
            from sqlalchemy import create_engine, text

            try:
                engine = create_engine(url, connect_args={"connect_timeout": 3})
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                engine.dispose()
            except Exception as error:
                reason = f"no PostgreSQL answers at {POSTGRES_ENV}: {type(error).__name__}"
        _postgres_state["url"] = url
        _postgres_state["reason"] = reason
    if _postgres_state["reason"]:
        pytest.skip(_postgres_state["reason"])
    url = _postgres_state["url"]
    assert url is not None
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'test.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    url = _postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    from sqlalchemy import create_engine, text

    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(make_engine(url, connect_args={"options": f"-csearch_path={schema}"}))
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database only (for tests that need no PostgreSQL variant)."""
    database = Database.from_url(f"sqlite:///{tmp_path / 'test.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def demo_db(db: Database) -> Database:
    """``db`` with the demo data loaded."""
    from mics.demo import load_demo

    load_demo(db)
    return db
