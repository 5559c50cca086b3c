"""What every ``mics`` command shares: the console, the database, the --verbose flag."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console

from mics.config import Settings
from mics.db import Database

console = Console()
err_console = Console(stderr=True)


@dataclass
class State:
    verbose: bool = False


state = State()


def settings() -> Settings:
    return Settings.from_env()


def database() -> Database:
    """The migrated database of ``MICS_DATABASE_URL``: refused in one line when absent."""
    return Database.existing(settings().database_url)


def new_database() -> Database:
    """The database of ``MICS_DATABASE_URL``, made when absent (``db upgrade``, ``demo``)."""
    return Database.from_url(settings().database_url)
