"""A database URL that cannot be read, or a database that does not answer: one clear error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mics.cli import one_line
from mics.db import Database
from mics.errors import InvalidInput, Unavailable


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nonsense", "Could not parse"),
        ("foo://bar", "Can't load plugin"),
        ("mysql://x@localhost/y", "No module named"),
    ],
)
def test_a_url_mics_cannot_open_names_the_variable_the_value_and_the_forms(
    url: str, says: str
) -> None:
    for open_it in (Database.from_url, Database.existing):
        with pytest.raises(InvalidInput) as caught:
            open_it(url)
        line = one_line(caught.value)
        assert line.startswith("MICS_DATABASE_URL: not a database URL MICS can open")
        assert says in line
        assert f"got {url!r}" in line
        assert "expected sqlite:///path/to/mics.db or postgresql+psycopg://" in line


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed again: nothing listens there


def test_upgrading_a_database_that_does_not_answer_is_one_line_without_the_password() -> None:
    url = f"postgresql+psycopg://mics:secret@127.0.0.1:{_closed_port()}/mics"
    db = Database.from_url(url)
    with pytest.raises(Unavailable) as caught:
        db.upgrade()
    line = one_line(caught.value)
    assert line.startswith("cannot open the database at postgresql+psycopg://mics:***@127.0.0.1:")
    assert "secret" not in line
    assert "\n" not in str(caught.value)


def test_upgrading_a_sqlite_file_in_a_missing_folder_says_it_cannot_open_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "no" / "such" / "mics.db"
    with pytest.raises(Unavailable, match="cannot open the database at sqlite:///"):
        Database.from_url(f"sqlite:///{path}").upgrade()
    assert not (tmp_path / "no").exists()
