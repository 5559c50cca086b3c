"""Settings read from the environment (``MICS_*``), with defaults that work on a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///./mics.db"


@dataclass(frozen=True)
class Settings:
    """Where MICS keeps its data and how it names itself.

    - ``database_url``: ``MICS_DATABASE_URL``; SQLite file ``./mics.db`` by default,
      ``postgresql+psycopg://user@host/db`` in production.
    - ``home``: ``MICS_HOME``; folder for secrets kept outside the database
      (the log's signing key, tag master keys), ``./var`` by default.
    - ``base_url``: ``MICS_BASE_URL``; the public address used in Digital Link URIs
      and the log's origin line.
    - ``instance``: ``MICS_INSTANCE``; this installation's name.
    """

    database_url: str = DEFAULT_DATABASE_URL
    home: Path = Path("var")
    base_url: str = "http://127.0.0.1:8000"
    instance: str = "mics.example/demo"
    operator_partner: str = "mics-operator"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("MICS_DATABASE_URL", DEFAULT_DATABASE_URL),
            home=Path(env.get("MICS_HOME", "var")),
            base_url=env.get("MICS_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            instance=env.get("MICS_INSTANCE", "mics.example/demo"),
            operator_partner=env.get("MICS_OPERATOR_PARTNER", "mics-operator"),
        )
