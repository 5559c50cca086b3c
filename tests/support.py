"""Helpers shared by test modules (import as ``from tests.support import ...``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from mics.db import Database

EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]


def epcis_document(events: Any, **fields: Any) -> dict[str, Any]:
    """An EPCIS 2.0 JSON-LD document around ``events``; ``fields`` add or replace header keys."""
    return {
        "@context": EPCIS_CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-01-01T10:00:00Z",
        **fields,
        "epcisBody": {"eventList": events},
    }


def repair_document(gtin: str, serial: str) -> dict[str, Any]:
    """An EPCIS document with one event naming the item: a repair (a new event in its history)."""
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-05-02T10:00:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/{gtin}/21/{serial}"],
        "action": "OBSERVE",
        "bizStep": "repairing",
    }
    return epcis_document([event], creationDate="2026-05-02T10:00:00+01:00")


def run_mics(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m mics ARGS`` as a user runs it, with its database and home in ``folder``.

    ``env`` adds variables, e.g. ``MICS_BASE_URL="https://passports.example"``."""
    environment = os.environ | {
        "MICS_DATABASE_URL": f"sqlite:///{folder / 'cli.db'}",
        "MICS_HOME": str(folder / "var"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "mics", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=folder,
        timeout=120,
        check=False,
    )


def tag_demo(db: Database) -> Database:
    """The demo registry with a tag on every item (no supply chains: faster); returns ``db``."""
    from mics.passport import tags
    from mics.registry.demo import ensure_instance, load_demo_registry

    ensure_instance(db, "mics-operator")
    load_demo_registry(db)
    tags.load_tag_demo(db)
    return db


def count_assemblies(monkeypatch: Any) -> list[str | None]:
    """The serials whose passports ``passport_cache`` assembles from now on, in order."""
    from mics.passport import view

    assembled: list[str | None] = []

    def counting(db: Database, subject: Any, *args: Any, **kwargs: Any) -> view.Assembled:
        assembled.append(subject.serial)
        return view.assemble(db, subject, *args, **kwargs)

    monkeypatch.setattr("mics.passport.passport_cache.assemble", counting)
    return assembled


def bearer(db: Database, partner: str, role: str = "partner") -> dict[str, str]:
    """The ``authorization`` header of a new API key of ``partner`` with ``role``."""
    from mics.registry.api_keys import create_key

    return {"authorization": "Bearer " + create_key(db, partner, role)}


@asynccontextmanager
async def app_client(
    db: Database,
    home: Path,
    *,
    url: str = "http://mics.test",
    raise_app_exceptions: bool = True,
    **settings: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client at ``url`` on the app over ``db`` in this process (ASGI, no server).

    ``settings`` add to ``Settings(database_url="sqlite://", home=home)``, e.g.
    ``base_url="https://mics.test"`` (the app's public address). With
    ``raise_app_exceptions=False`` an error inside the app comes back as a 500 instead of
    raising in the test."""
    from mics.api import create_app
    from mics.config import Settings

    app = create_app(Settings(database_url="sqlite://", home=home, **settings), db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    async with httpx.AsyncClient(transport=transport, base_url=url) as client:
        yield client
