"""PostgreSQL connection pool: one connection per server thread, or MICS_DB_POOL_SIZE."""

from __future__ import annotations

import pytest
from sqlalchemy.pool import NullPool, QueuePool

from mics.db import make_engine
from mics.errors import InvalidInput

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
