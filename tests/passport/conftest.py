"""Fixtures of the passport tests: the demo registry with a tag on every item, and an app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import tag_demo

from mics.api import create_app
from mics.config import Settings
from mics.db import Database

TAGGED_BASE = "https://mics.test"


@pytest.fixture
def tagged(sqlite_db: Database) -> Database:
    return tag_demo(sqlite_db)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tagged: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``tagged`` (modules with another ``client`` fixture use their own)."""
    settings = Settings(database_url="sqlite://", home=tmp_path / "home", base_url=TAGGED_BASE)
    app = create_app(settings, tagged)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mics.test") as c:
        yield c
