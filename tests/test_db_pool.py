"""PostgreSQL connection pool: one connection per server thread, or MICS_DB_POOL_SIZE."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.pool import NullPool, QueuePool

from mics.db import IDLE_PING_S, Database, make_engine
from mics.errors import InvalidInput
from mics.storage.statements import dbapi_connection

URL = "postgresql+psycopg://nobody@127.0.0.1:1/none"  # never connected to


def _limits(url: str = URL) -> tuple[int, int]:
    pool = make_engine(url).pool
    assert isinstance(pool, QueuePool)
    return pool.size(), pool._max_overflow


def test_the_default_pool_matches_the_servers_forty_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MICS_DB_POOL_SIZE", raising=False)
    assert _limits() == (40, 0)  # every connection opened is kept


@pytest.mark.parametrize(("size", "limits"), [("4", (4, 0)), ("25", (25, 0))])
def test_the_pool_size_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, size: str, limits: tuple[int, int]
) -> None:
    monkeypatch.setenv("MICS_DB_POOL_SIZE", size)
    assert _limits() == limits


@pytest.mark.parametrize("size", ["0", "many", "-3", "5000"])
def test_a_bad_pool_size_names_the_variable(monkeypatch: pytest.MonkeyPatch, size: str) -> None:
    monkeypatch.setenv("MICS_DB_POOL_SIZE", size)
    with pytest.raises(InvalidInput) as raised:
        make_engine(URL)
    assert raised.value.field == "MICS_DB_POOL_SIZE"
    assert raised.value.value == size


def test_an_explicit_poolclass_gets_no_pool_sizes() -> None:
    assert isinstance(make_engine(URL, poolclass=NullPool).pool, NullPool)


# --- no ping on the hot path; a dead connection still never reaches a second request ---------


def _postgres(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to lose")


def _kill_backends(db: Database) -> int:
    """Terminate every server process holding one of ``db``'s pooled connections."""
    with db.engine.connect() as admin:
        return len(
            admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                f"AND application_name = '{APP}'"
            ).all()
        )


APP = "mics-pool-test"


def _engine_like(db: Database) -> Database:
    """Another engine on ``db``'s schema, its connections named for ``_kill_backends``."""
    with db.engine.connect() as connection:
        path = connection.exec_driver_sql("SHOW search_path").scalar()
    options = {"options": f"-csearch_path={path}", "application_name": APP}
    return Database(
        make_engine(db.engine.url.render_as_string(hide_password=False), connect_args=options)
    )


def _backend(database: Database) -> int:
    with dbapi_connection(database.engine) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
        connection.rollback()
        return pid


def test_a_busy_pool_is_not_pinged_and_an_idle_one_is(db: Database) -> None:
    _postgres(db)
    database = _engine_like(db)
    pings: list[Any] = []
    real = database.engine.dialect.do_ping

    def counted(connection: Any) -> bool:
        pings.append(connection)
        return real(connection)

    database.engine.dialect.do_ping = counted  # type: ignore[method-assign,assignment]
    try:
        first = _backend(database)
        assert _backend(database) == first  # the same connection, handed out at once
        assert pings == []
        for record in database.engine.pool._pool.queue:  # type: ignore[attr-defined]
            record.info["idle_since"] -= IDLE_PING_S + 1  # as if it lay idle since
        assert _backend(database) == first
        assert len(pings) == 1
    finally:
        database.dispose()


def test_a_connection_the_server_closed_is_replaced_not_handed_out(db: Database) -> None:
    _postgres(db)
    database = _engine_like(db)
    try:
        first = _backend(database)
        assert _kill_backends(db) == 1
        for record in database.engine.pool._pool.queue:  # type: ignore[attr-defined]
            record.info["idle_since"] -= IDLE_PING_S + 1
        second = _backend(database)  # the idle one failed its ping: a new one, no error
        assert second != first
        assert _kill_backends(db) == 1  # dies while the pool thinks it fresh: one error...
        with pytest.raises(database.engine.dialect.loaded_dbapi.OperationalError):
            _backend(database)
        assert _backend(database) not in (first, second)  # ...and the next request is served
    finally:
        database.dispose()
