"""The test databases: one template per kind per session, a copy per test.

Migrating a database (~0.3-0.6 s) and loading the demo (~0.6-3 s on a busy machine) in
every test made up most of the suite's time. Each kind of database (``FILLS``) is built
once per test session (per pytest-xdist worker) and each test gets its own copy: a file
copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL (an empty PostgreSQL
database is a freshly migrated schema: see ``Templates.postgres``). Tests never share one.
The fixtures (``db``, ``sqlite_db``, ``demo_db``, ``templates``) are in tests/conftest.py.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from mics.db import Database, make_engine

POSTGRES_ENV = "MICS_TEST_POSTGRES_URL"
_postgres_state: dict[str, str | None] = {}


def postgres_url() -> str:
    """The PostgreSQL URL from the environment, or skip with the reason."""
    if "url" not in _postgres_state:
        url = os.environ.get(POSTGRES_ENV)
        reason = None
        if not url:
            reason = f"{POSTGRES_ENV} is not set: PostgreSQL store tests skipped"
        else:
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


def _fill_demo(db: Database) -> None:
    from mics.demo import load_demo

    load_demo(db)


def _fill_registry(db: Database) -> None:
    from mics.registry.demo import load_demo_registry

    load_demo_registry(db)


def _fill_tagged(db: Database) -> None:
    from tests.support import tag_demo

    tag_demo(db)


FILLS: dict[str, Callable[[Database], object]] = {
    "empty": lambda db: None,
    "demo": _fill_demo,  # mics.demo.load_demo: every area's demo data
    "registry": _fill_registry,  # mics.registry.demo.load_demo_registry alone
    "tagged": _fill_tagged,  # tests.support.tag_demo: the registry, a tag on every item
}
_demo_filled: weakref.WeakSet[Database] = weakref.WeakSet()


class Templates:
    """The session's template databases, built on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sqlite_files: dict[str, Path] = {}
        self.postgres_names: dict[str, str] = {}
        self.postgres_admin: Engine | None = None
        self.postgres_denied: str | None = None
        self.drops: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.dropper: threading.Thread | None = None

    def sqlite(self, fill: str, path: Path) -> Database:
        """A copy of the ``fill`` template at ``path`` (owner-only, like a new store)."""
        source = self.sqlite_files.get(fill)
        if source is None:
            source = self.folder / f"{fill}.db"
            template = Database.from_url(f"sqlite:///{source}")
            template.upgrade()
            FILLS[fill](template)
            template.dispose()  # the last connection checkpoints the WAL into the file
            self.sqlite_files[fill] = source
        for suffix in ("", "-wal"):
            if source.with_name(source.name + suffix).exists():
                shutil.copy(
                    source.with_name(source.name + suffix), path.with_name(path.name + suffix)
                )
        return Database.from_url(f"sqlite:///{path}")

    def _admin(self, url: str) -> Engine:
        if self.postgres_admin is None:
            self.postgres_admin = create_engine(url, isolation_level="AUTOCOMMIT")
        return self.postgres_admin

    @contextmanager
    def postgres(self, fill: str) -> Iterator[Database]:
        """A fresh PostgreSQL database copied from the ``fill`` template, dropped afterwards.

        An empty one, or without the right to create databases: a fresh schema, migrated
        and filled per test. A DROP DATABASE waits for a checkpoint (1-2 s each on a busy
        machine, and over 30 s while other writers flushed): worth it where it saves
        loading the demo, not where it saves only the migrations (~0.3 s)."""
        url = postgres_url()
        admin = self._admin(url)
        if fill == "empty":
            with _postgres_schema(url, admin) as database:
                database.upgrade()
                yield database
            return
        if self.postgres_denied is None and fill not in self.postgres_names:
            name = f"mics_test_{fill}_{uuid.uuid4().hex[:10]}"
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
            except DBAPIError as error:  # no CREATEDB right: one schema per test instead
                self.postgres_denied = f"{type(error.orig).__name__}"
            else:
                template = Database(make_engine(_with_database(url, name)))
                template.upgrade()
                FILLS[fill](template)
                template.dispose()
                self.postgres_names[fill] = name
        if self.postgres_denied is not None:
            with _postgres_schema(url, admin) as database:
                database.upgrade()
                FILLS[fill](database)
                yield database
            return
        name = f"mics_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(
                text(f'CREATE DATABASE "{name}" TEMPLATE "{self.postgres_names[fill]}"')
            )
        database = Database(make_engine(_with_database(url, name)))
        try:
            yield database
        finally:
            database.dispose()
            self._drop_later(name)

    def _drop_later(self, name: str) -> None:
        """Drop a test's database in a background thread: a DROP DATABASE waits for a
        checkpoint (seconds on a busy machine), which the next tests need not wait for."""
        if self.dropper is None:
            self.dropper = threading.Thread(target=self._drop_queued, daemon=True)
            self.dropper.start()
        self.drops.put(name)

    def _drop_queued(self) -> None:
        assert self.postgres_admin is not None
        while (name := self.drops.get()) is not None:
            with self.postgres_admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.postgres_admin is None:
            return
        if self.dropper is not None:
            self.drops.put(None)
            self.dropper.join()
        with self.postgres_admin.connect() as connection:
            for name in self.postgres_names.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.postgres_admin.dispose()


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def _postgres_schema(url: str, admin: Engine) -> Iterator[Database]:
    """A database on a fresh schema of ``url``'s database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(make_engine(url, connect_args={"options": f"-csearch_path={schema}"}))
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def store_copy(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path, fill: str
) -> Iterator[Database]:
    """A ``fill`` database on the store ``request.param`` names ("sqlite" or "postgres")."""
    if request.param == "sqlite":
        database = templates.sqlite(fill, tmp_path / "test.db")
        yield database
        database.dispose()
        return
    with templates.postgres(fill) as database:
        yield database
