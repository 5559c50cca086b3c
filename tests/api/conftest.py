"""Fixtures of the API tests: the app over the demo store, through httpx's ASGI transport.

A module that needs another client (the demo registry alone, a key held throughout)
defines its own ``client``, or refines this one by asking for it (pytest hands a fixture
of the same name the one it overrides).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from tests.support import app_client

from mics.db import Database


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(demo_db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app over every area's demo data (``demo_db``), holding no key."""
    async with app_client(demo_db, tmp_path / "var") as c:
        yield c
