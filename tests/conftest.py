"""Shared fixtures: the public test data in ../shared and the databases (tests/databases.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.databases import Templates, _demo_filled, _fill_demo, store_copy

from mics.db import Database

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


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    built = Templates(tmp_path_factory.mktemp("templates"))
    yield built
    built.close()


def _wants_demo(request: pytest.FixtureRequest) -> bool:
    """True when the test uses this conftest's ``demo_db`` (not a module's own ``demo_db``)."""
    return "demo_db" in request.fixturenames and not hasattr(request.module, "demo_db")


STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def db(request: pytest.FixtureRequest, templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL database.

    With ``demo_db`` in the test's fixtures it starts as a copy of the demo instead."""
    fill = "demo" if _wants_demo(request) else "empty"
    for database in store_copy(request, templates, tmp_path, fill):
        if fill == "demo":
            _demo_filled.add(database)
        yield database


@pytest.fixture
def sqlite_db(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database only (for tests that need no PostgreSQL variant)."""
    database = templates.sqlite("empty", tmp_path / "test.db")
    yield database
    database.dispose()


@pytest.fixture
def demo_registry(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """The demo registry alone (partners, materials, products, items) on SQLite."""
    database = templates.sqlite("registry", tmp_path / "registry.db")
    yield database
    database.dispose()


@pytest.fixture
def demo_db(db: Database) -> Database:
    """``db`` with the demo data loaded (copied from the session's demo template)."""
    if db not in _demo_filled:  # ``db`` was made before this fixture was known
        _fill_demo(db)
    return db


@pytest.fixture(params=STORES)
def tagged_db(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[Database]:
    """The demo registry with a tag on every item (``tests.support.tag_demo``), both stores."""
    yield from store_copy(request, templates, tmp_path, "tagged")
