"""Ledger entries for tests, written as a site would record them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from mics.custody.model import Account, Entry, Flow

SITE, GOLD = "orafi-aretini", "gold"
START = datetime(2026, 7, 1, tzinfo=UTC)
_ids = count(1)


def at(day: float) -> datetime:
    return START + timedelta(days=day)


def account(model: str, pack: str = "rjc-coc", **factors: float) -> Account:
    return Account(SITE, GOLD, "recycled", pack, model, dict(factors), id=1)


def receipt(
    lot: str, kg: float, share: float, day: float, category: str | None = "recycled"
) -> Entry:
    n = next(_ids)
    return Entry(
        "receipt",
        f"urn:uuid:r{n}",
        at(day),
        SITE,
        GOLD,
        outputs=(Flow(lot, kg),),
        shares={"recycled": share},
        category=category,
        id=n,
    )


def certificate(kg: float, day: float) -> Entry:
    n = next(_ids)
    return Entry(
        "certificate",
        f"urn:uuid:c{n}",
        at(day),
        SITE,
        GOLD,
        outputs=(Flow(f"cert-{n}", kg),),
        shares={"recycled": 1.0},
        category="recycled",
        id=n,
    )


def make(
    inputs: list[tuple[str, float]],
    outputs: list[tuple[str, float]],
    day: float,
    group: str = "rings",
    step: str = "casting",
) -> Entry:
    n = next(_ids)
    return Entry(
        "transformation",
        f"urn:uuid:t{n}",
        at(day),
        SITE,
        GOLD,
        inputs=tuple(Flow(i, kg) for i, kg in inputs),
        outputs=tuple(Flow(o, kg) for o, kg in outputs),
        product_group=group,
        step=step,
        id=n,
    )
