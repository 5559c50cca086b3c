"""Files that hold secrets are their owner's alone: the SQLite database, its WAL and
shared-memory files, and the keys under MICS_HOME."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mics.api import create_app
from mics.config import Settings
from mics.db import Database
from mics.passport.issuer_keys import load_or_create_partner_key
from mics.passport.tags import load_or_create_master_key
from mics.registry.demo import ensure_instance


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask (022: files 0644), whatever the test runner's is."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(folder: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}


@pytest.mark.usefixtures("loose_umask")
def test_sqlite_database_wal_and_shm_are_created_owner_only(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'mics.db'}")
    try:
        db.upgrade()
        ensure_instance(db, "op")  # a write after the migration
        with db.engine.connect():  # the WAL and shared-memory files live while connected
            modes = _modes(tmp_path)
    finally:
        db.dispose()
    assert modes == {"mics.db": 0o600, "mics.db-wal": 0o600, "mics.db-shm": 0o600}


@pytest.mark.usefixtures("loose_umask")
def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    db = Database.from_url(f"sqlite:///{path}")
    try:
        db.upgrade()
    finally:
        db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.usefixtures("loose_umask")
def test_every_key_under_mics_home_is_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "var"
    db = Database.from_url(f"sqlite:///{tmp_path / 'mics.db'}")
    try:
        create_app(Settings(home=home), db)  # the log's and the webhook tokens' keys
    finally:
        db.dispose()
    load_or_create_master_key(home, "mics.example/test")
    load_or_create_partner_key(home, "brand")
    modes = _modes(home)
    assert {"ledger.key", "webhooks.key", "tags.key"} <= set(modes)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert modes == {name: 0o700 if (home / name).is_dir() else 0o600 for name in modes}
