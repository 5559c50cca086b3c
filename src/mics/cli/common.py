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
    return Database.from_url(settings().database_url)
