"""Fixtures of the passport tests: the demo registry with a tag on every item, and an app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from tests.databases import Templates
from tests.support import app_client

from mics.db import Database

TAGGED_BASE = "https://mics.test"


@pytest.fixture
def tagged(templates: Templates, tmp_path: Path) -> Iterator[Database]:
    """tests.support.tag_demo's database (SQLite), copied from the session's template."""
    database = templates.sqlite("tagged", tmp_path / "test.db")
    yield database
    database.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(tagged: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``tagged`` (modules with another ``client`` fixture use their own)."""
    async with app_client(tagged, tmp_path / "home", base_url=TAGGED_BASE) as c:
        yield c
