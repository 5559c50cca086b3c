"""Fixtures of the trace tests: a store with the instance's operator and two partners."""

from __future__ import annotations

import pytest

from mics import registry
from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn


@pytest.fixture
def repo(db: Database) -> Database:
    ensure_instance(db, "op")
    for pid, gln in (("tannery", "8012345900015"), ("workshop", "8012345900022")):
        registry.create_partner(
            db, PartnerIn(id=pid, name=pid, kind="enterprise", is_public=False, gln=gln)
        )
    return db
