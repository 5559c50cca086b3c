"""Bench: the EPCIS 2.0 REST binding's top-level lists (``/epcs``, ``/bizLocations``, ...).

Builds a store of seeded ObjectEvents from four partners (each a random serial, one of 40
business locations and read points per partner, one of 8 business steps and 6
dispositions; every fourth event names the next partner in its destinationList), through
``capture_events`` on the SQLite default, then prints p50/p99 of:

1. the first page (30 values) of each list (``mics.trace.resources.values``), for an
   operator key (every event) and a partner key (its own events and those naming it);
2. a page in the middle of ``/epcs`` (the token of page 10);
3. one value's lookup (``check_value``: ``GET /epcs/{epc}``);

against its anchor, the first page of ``/events`` (``query.run``, 30 events) for the same
viewer, which is what a client did before these lists existed.

    .venv/bin/python bench/epcis_resources.py [EVENTS=50000] [--runs 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from mics import registry
from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace import capture, query, resources
from mics.trace.visibility import viewer_for

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PARTNERS = (
    ("conceria", "8012345900015"),
    ("pelletteria", "8012345900022"),
    ("maison", "8012345900039"),
    ("boutique", "8012345900046"),
)
STEPS = (
    "commissioning", "shipping", "receiving", "packing", "inspecting", "storing",
    "repairing", "retail_selling",
)  # fmt: skip
DISPOSITIONS = ("active", "in_progress", "in_transit", "sellable_accessible", "damaged", "recalled")


def event(rng: random.Random, number: int, partner: int) -> dict[str, Any]:
    spot = f"urn:epc:id:sgln:80123{45 + partner}.{rng.randrange(40):05d}.0"
    when = NOW - timedelta(minutes=number)
    found: dict[str, Any] = {
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "eventTime": when.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:8012345.0{partner:05d}.{number}"],
        "bizStep": rng.choice(STEPS),
        "disposition": rng.choice(DISPOSITIONS),
        "readPoint": {"id": spot},
        "bizLocation": {"id": spot},
    }
    if number % 4 == 0:
        gln = PARTNERS[(partner + 1) % len(PARTNERS)][1]
        owner = f"urn:epc:id:pgln:{gln[:7]}.{gln[7:12]}"
        found["destinationList"] = [{"type": "owning_party", "destination": owner}]
    return found


def build(db: Database, size: int) -> float:
    ensure_instance(db, "op")
    for pid, gln in PARTNERS:
        registry.create_partner(
            db, PartnerIn(id=pid, name=pid, kind="enterprise", is_public=False, gln=gln)
        )
    rng = random.Random(20)
    started = time.perf_counter()
    for index, (pid, _) in enumerate(PARTNERS):
        events = [event(rng, n, index) for n in range(index, size, len(PARTNERS))]
        for at in range(0, len(events), capture.CAPTURE_LIMIT):
            capture.capture_events(db, events[at : at + capture.CAPTURE_LIMIT], CONTEXT, pid)
    return time.perf_counter() - started


def timed(runs: int, call: Callable[[], object]) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[max(0, int(len(times) * 0.99) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=int, nargs="?", default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{Path(folder) / 'bench.db'}")
        db.upgrade()
        took = build(db, args.events)
        print(f"store: {args.events} events captured in {took:.1f} s")
        viewers = {"operator": query.Viewer(partner=None), "partner": viewer_for(db, "maison")}
        print("| viewer | call | p50 ms | p99 ms | x /events page |")
        print("|---|---|---|---|---|")
        for who, viewer in viewers.items():
            anchor, _ = timed(args.runs, partial(query.run, db, {}, viewer))
            print(f"| {who} | /events first page (anchor) | {anchor:.2f} | | 1.00 |")
            token = None
            for _ in range(10):
                token = resources.values(db, "epcs", viewer, token=token).next_token
            epc = "urn:epc:id:sgtin:8012345.000002.6"  # maison's own (partner 2, event 6)
            calls: list[tuple[str, Callable[[], object]]] = [
                *[
                    (f"/{r} first page", partial(resources.values, db, r, viewer))
                    for r in resources.RESOURCES
                ],
                ("/epcs page 11", partial(resources.values, db, "epcs", viewer, token=token)),
                ("/epcs/{epc} lookup", partial(resources.check_value, db, "epcs", epc, viewer)),
            ]
            for name, call in calls:
                p50, p99 = timed(args.runs, call)
                print(f"| {who} | {name} | {p50:.2f} | {p99:.2f} | {p50 / anchor:.2f} |")
        db.dispose()


if __name__ == "__main__":
    main()
