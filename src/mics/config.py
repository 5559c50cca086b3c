"""Settings read from the environment (``MICS_*``), with defaults that work on a laptop."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mics.errors import InvalidInput

DEFAULT_DATABASE_URL = "sqlite:///./mics.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
SERVED_AT_FILE = "served-at"  # under MICS_HOME: the address `mics serve` last served at


def local_base_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """The address a browser on this machine reaches ``mics serve --host --port`` at.

    A wildcard bind (``0.0.0.0``, ``::``) is reached at the loopback address here; for
    other machines (a phone scanning a tag, a proxy) set ``MICS_BASE_URL``."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0") else "::1" if host == "::" else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


@dataclass(frozen=True)
class Settings:
    """Where MICS keeps its data and how it names itself.

    - ``database_url``: ``MICS_DATABASE_URL``; SQLite file ``./mics.db`` by default,
      ``postgresql+psycopg://user@host/db`` in production.
    - ``home``: ``MICS_HOME``; folder for secrets kept outside the database
      (the log's signing key, tag master keys), ``./var`` by default.
    - ``base_url``: ``MICS_BASE_URL``; the public address used in Digital Link URIs,
      QR codes, scan links and the log's origin line. Unset, it is the address
      ``mics serve`` serves at (from ``--host``/``--port``, remembered in
      ``$MICS_HOME/served-at`` for the CLI), else ``http://127.0.0.1:8000``.
    - ``instance``: ``MICS_INSTANCE``; this installation's name.
    - ``compute_workers``: ``MICS_COMPUTE_WORKERS``; threads of the API's own pool for
      Monte Carlo runs (``mics.api.compute``), 1 by default.
    - ``trusted_proxies``: ``MICS_TRUSTED_PROXIES``; the addresses (comma-separated,
      ``*`` for any) whose ``X-Forwarded-For`` names the client in ``mics serve``,
      ``127.0.0.1,::1`` by default; empty: trust no one, the connection is the client.
    - ``passport_cache_size``: ``MICS_PASSPORT_CACHE_SIZE``; passports each server
      process keeps in memory for scans (``mics.passport.passport_cache``), 10,000.
    - ``passport_prebuild``: ``MICS_PASSPORT_PREBUILD``; ``1`` (the default): the server
      writes tagged items' passport snapshots in the background, before their first
      scan (``mics.passport.prebuilder``); ``0``: it does not (scans assemble them).
    """

    database_url: str = DEFAULT_DATABASE_URL
    home: Path = Path("var")
    base_url: str = local_base_url()
    instance: str = "mics.example/demo"
    operator_partner: str = "mics-operator"
    # One: Monte Carlo is CPU-bound and holds the GIL between numpy calls, so each more
    # thread takes CPU from passports and scans (bench/hostile_footprint.py); raise it
    # on a machine with cores to spare.
    compute_workers: int = 1
    # uvicorn's own default: a proxy on the same machine (nginx, Caddy) names the client
    trusted_proxies: str = "127.0.0.1,::1"
    passport_cache_size: int = 10_000
    passport_prebuild: bool = True

    @classmethod
    def from_env(cls, served_at: str | None = None) -> Settings:
        """The settings of this process; ``served_at`` is the server's own address
        (``mics serve``), used when ``MICS_BASE_URL`` is unset."""
        env = os.environ
        home = Path(env.get("MICS_HOME", "var"))
        base_url = env.get("MICS_BASE_URL") or served_at or _last_served_at(home)
        return cls(
            database_url=env.get("MICS_DATABASE_URL", DEFAULT_DATABASE_URL),
            home=home,
            base_url=(base_url or local_base_url()).rstrip("/"),
            instance=env.get("MICS_INSTANCE", "mics.example/demo"),
            operator_partner=env.get("MICS_OPERATOR_PARTNER", "mics-operator"),
            compute_workers=_whole(env, "MICS_COMPUTE_WORKERS", 1, 1, 64),
            trusted_proxies=env.get("MICS_TRUSTED_PROXIES", "127.0.0.1,::1").strip(),
            passport_cache_size=_whole(env, "MICS_PASSPORT_CACHE_SIZE", 10_000, 1, 10_000_000),
            passport_prebuild=_switch(env, "MICS_PASSPORT_PREBUILD", True),
        )

    def remember_served_at(self) -> None:
        """Note the server's address under ``home`` for CLI commands that print URLs."""
        if "MICS_BASE_URL" in os.environ:
            return
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / SERVED_AT_FILE).write_text(self.base_url + "\n", encoding="utf-8")


def _last_served_at(home: Path) -> str | None:
    try:
        text = (home / SERVED_AT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if text.startswith(("http://", "https://")) else None


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The whole number in ``env[name]`` (``default`` when unset), or InvalidInput naming it."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInput(
            f"{name}={raw!r} is not valid", field=name, value=raw, expected=f"{low} to {high}"
        )
    return value


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """``env[name]`` as on (1) or off (0), ``default`` when unset, or InvalidInput naming it."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in _ON:
        return True
    if raw.lower() in _OFF:
        return False
    raise InvalidInput(
        f"{name}={raw!r} is not a switch", field=name, value=raw, expected="1 (on) or 0 (off)"
    )
