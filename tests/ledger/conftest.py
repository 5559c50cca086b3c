"""Fixtures for the log's service tests: generated EPCIS events captured into a database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from mics.db import Database
from mics.ledger.note import Signer
from mics.ledger.store import log
from mics.registry import create_partner
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace.capture import capture_events

ORIGIN = "mics.example/test"
OPERATOR = "mics-operator"
# An extension prefix declared only in the capture document's @context: the audit and the
# offline check must use that context to hash example:batch the way capture did.
CONTEXT: list[Any] = [
    {"example": "https://ns.example.com/epcis/"},
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
]


def object_event(i: int) -> dict[str, Any]:
    """A valid ObjectEvent, different for every ``i``."""
    return {
        "type": "ObjectEvent",
        "eventTime": f"2026-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": [f"https://id.gs1.org/01/08012345000012/21/S{i}"],
        "action": "OBSERVE",
        "bizStep": "inspecting",
        "readPoint": {"id": "https://id.gs1.org/414/8012345000005"},
        "example:batch": f"B{i}",
    }


def events(start: int, count: int) -> Iterator[dict[str, Any]]:
    return (object_event(i) for i in range(start, start + count))


@dataclass(frozen=True)
class Logged:
    """A database holding captured events, their leaves and signed checkpoints."""

    db: Database
    signer: Signer


def add_partner(db: Database, partner_id: str) -> None:
    create_partner(
        db, PartnerIn(id=partner_id, name=partner_id, kind="enterprise", is_public=False)
    )


@pytest.fixture
def capture() -> Callable[[Database, int, int], None]:
    def run(db: Database, start: int, count: int) -> None:
        capture_events(db, events(start, count), CONTEXT, OPERATOR)

    return run


@pytest.fixture
def logged(db: Database) -> Logged:
    """Three captures of 5, 7 and 4 events with a checkpoint after each."""
    ensure_instance(db, OPERATOR)
    signer = Signer.generate(ORIGIN)
    for start, count in ((0, 5), (5, 7), (12, 4)):
        capture_events(db, events(start, count), CONTEXT, OPERATOR)
        log.checkpoint(db, signer, ORIGIN)
    return Logged(db, signer)
