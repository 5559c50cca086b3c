"""The database: one engine, one declarative base, transactions, migrations.

SQLite (WAL mode, foreign keys on) is the embedded default; PostgreSQL through
psycopg 3 is the production store. Every area declares its tables on
:class:`Base`; schema changes go through the Alembic migrations in
``mics/migrations``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    inspect,
    make_url,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from mics.errors import Conflict, InvalidInput, NotFound, Unavailable

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back as an aware UTC ``datetime``.

    The column is ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL and SQLAlchemy's
    text format on SQLite, which keeps no offset: values are converted to UTC
    on the way in (so SQLite's text is UTC and compares in order) and get
    ``tzinfo=UTC`` on the way out, whatever the session's time zone. A naive
    datetime names no instant and is refused rather than guessed at. Every
    ``DateTime`` column of MICS is one of these: API fields declared
    ``format: date-time`` (RFC 3339 §5.6) need the offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value!r} for a UTC column: pass an aware time, "
                "e.g. datetime.now(UTC)"
            )
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: the stored text is UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


WAL_SIZE_LIMIT = 16 * 1024 * 1024  # bytes of -wal file kept after a checkpoint resets it


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        create_owner_only(url)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # 64 MB of page cache (default 2 MB): capture inserts into a dozen indexes whose
            # pages the default cache keeps evicting once a store holds ~100k events
            cursor.execute("PRAGMA cache_size=-65536")
            cursor.execute("PRAGMA temp_store=MEMORY")
            # After a burst (a 100,000-event capture writes ~150 MB of WAL) the -wal file
            # keeps its size until it is truncated: cut back to this once a checkpoint
            # lets writers start again from its beginning.
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            cursor.close()

        return engine
    # Up to 40 connections by default: one per thread of the server's pool (anyio's default
    # limit), so that no request thread waits for a connection while holding the
    # GIL-bound work of others. With SQLAlchemy's default 5 + 10, tag scans on
    # PostgreSQL spent a quarter of their time waiting for the pool (bench/scan.py
    # against PostgreSQL: 112 scans/s, 561 with this pool). Two workers: 80 of
    # PostgreSQL's default 100 connections; MICS_DB_POOL_SIZE lowers it for more workers.
    # All of them kept once opened (connections open lazily: a CLI run opens one or two):
    # with 10 kept and 30 "overflow" ones closed on return, the busy server opened and
    # closed a PostgreSQL connection (a backend process, ~5 ms) every few scans
    # (bench/scan.py on PostgreSQL: 581-673 scans/s, p99 at 500/s 180-290 ms; 799 and
    # 56 ms with all kept).
    #
    # No ``pool_pre_ping``: it sent a ``SELECT 1`` round trip on every checkout, one of a
    # tag scan's few (bench/scan.py). A connection is pinged instead when it comes out
    # of the pool after lying idle more than IDLE_PING_S (``ping_idle_connections``), the
    # case where a restarted or failed-over server or a firewall went unnoticed; a busy
    # pool's connections were in use a moment ago. One that broke in use is dropped from
    # the pool by SQLAlchemy (the ORM and Core paths) or ``storage.statements`` (the raw one).
    size = pool_size()
    pool = {} if "poolclass" in kwargs else {"pool_size": size, "max_overflow": 0}
    engine = create_engine(url, **(pool | kwargs))
    ping_idle_connections(engine)
    return engine


IDLE_PING_S = 10.0


def ping_idle_connections(engine: Engine, idle_s: float = IDLE_PING_S) -> None:
    """Ping a pooled connection at checkout when it was idle more than ``idle_s`` seconds.

    A failed ping raises ``DisconnectionError``, on which the pool drops the connection
    and hands out a fresh one (SQLAlchemy's checkout protocol)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"a pooled connection failed its ping: {error}") from error


def create_owner_only(url: str) -> None:
    """Create a new SQLite database file with mode 0600 before SQLite opens it.

    SQLite creates a missing file 0644 under the usual umask, and the file holds
    sealed tokens, key hashes and every partner's events; it gives its ``-wal``,
    ``-shm`` and ``-journal`` files the mode of the database file, so they follow.
    A file that exists keeps the mode its owner gave it."""
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:") or "uri" in parsed.query:
        return  # in memory, or a URI filename whose options SQLite reads itself
    # It exists, or its folder does not: SQLite opens it, or names the error.
    with suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


POOL_SIZE_VAR = "MICS_DB_POOL_SIZE"


def pool_size() -> int:
    """PostgreSQL connections per process (``MICS_DB_POOL_SIZE``, default 40)."""
    text = os.environ.get(POOL_SIZE_VAR, "40")
    try:
        size = int(text)
    except ValueError:
        size = 0
    if not 1 <= size <= 1000:
        raise InvalidInput(
            "is not a connection count",
            field=POOL_SIZE_VAR,
            value=text,
            expected="an integer from 1 to 1000 (PostgreSQL connections per server process)",
        )
    return size


class Database:
    """An engine plus its session factory: ``with db.transaction() as s: ...``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        """The database at ``url``; SQLite makes the file on first use (``mics db upgrade``).

        A URL SQLAlchemy cannot read, or whose driver is not installed, is refused here
        in one line naming ``MICS_DATABASE_URL`` (the setting it comes from)."""
        try:
            return cls(make_engine(url))
        except (ArgumentError, NoSuchModuleError, ImportError) as error:
            raise _not_a_url(url, error) from None

    @classmethod
    def existing(cls, url: str) -> Database:
        """The database at ``url`` if it holds this version's schema, else one clear error.

        Commands that read or add data open the store this way, so that a command run
        in the wrong folder neither creates an empty ``mics.db`` there nor fails later
        with "no such table"."""
        path = sqlite_file(url)
        if path is not None and not path.exists():
            raise NotFound(f"no MICS database at {path}; {_HOW_TO_CREATE}")
        db = cls.from_url(url)
        shown = db.engine.url.render_as_string(hide_password=True)
        try:
            with db.connect() as connection:
                current = set(MigrationContext.configure(connection).get_current_heads())
        except Unavailable:
            db.dispose()
            raise
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        if not current:
            db.dispose()
            raise NotFound(f"no MICS database at {shown} (no MICS tables); {_HOW_TO_CREATE}")
        if current != heads:
            db.dispose()
            raise Conflict(
                f"the database at {shown} has schema revision {', '.join(sorted(current))}, "
                f"this mics needs {', '.join(sorted(heads))}; run `mics db upgrade`"
            )
        return db

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end; loaded rows stay usable)."""
        with self._sessions() as session:
            yield session
            session.expunge_all()
            session.rollback()

    def connect(self) -> Connection:
        """A connection; a database that does not answer is refused in one line
        (``Unavailable``: the URL shown without its password, the driver's first line)."""
        try:
            return self.engine.connect()
        except OperationalError as error:
            shown = self.engine.url.render_as_string(hide_password=True)
            reason = _first_line(error.orig) if error.orig else _first_line(error)
            raise Unavailable(f"cannot open the database at {shown}: {reason}") from None

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest Alembic revision."""
        with self.connect() as connection, connection.begin():
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")

    def is_current(self) -> bool:
        return "alembic_version" in inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()


DATABASE_URL_VAR = "MICS_DATABASE_URL"
DATABASE_URL_FORMS = (
    "sqlite:///path/to/mics.db or postgresql+psycopg://user:password@host:5432/name"
)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _not_a_url(url: str, error: BaseException) -> InvalidInput:
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = url  # unparsed: no password could be found in it either
    return InvalidInput(
        f"not a database URL MICS can open ({_first_line(error)})",
        field=DATABASE_URL_VAR,
        value=shown,
        expected=DATABASE_URL_FORMS,
    )


_HOW_TO_CREATE = (
    "run `mics db upgrade` (and `mics demo` for the demo data) in this folder, "
    "or set MICS_DATABASE_URL to your database"
)


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite database file, or None (another database, or memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise _not_a_url(url, error) from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.database.startswith("file:"):
        return None  # a URI filename: SQLite's own rules apply
    return Path(parsed.database).absolute()


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("mics") / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config
