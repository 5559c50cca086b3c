"""Shared fixtures: the public test data in ../shared and the database URLs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MICS_SHARED", str(REPO.parent / "shared")))


def shared_path(*parts: str) -> Path:
    """A folder or file under ../shared/standards, or skip the test saying why."""
    path = SHARED.joinpath("standards", *parts)
    if not path.exists():
        pytest.skip(f"public test data {path} is absent (a clone without ../shared)")
    return path


@pytest.fixture
def shared() -> "type[SharedData]":
    """``shared.path("gs1-epcis", "JSON")``: public test data, or skip saying why."""
    return SharedData


class SharedData:
    path = staticmethod(shared_path)
