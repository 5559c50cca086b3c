"""Benchmark of the transparency log through its store (SQLite file), and its cost to capture.

Anchors (issue 4): appending must not cut capture throughput by more than 20%
(ratio >= 0.8); inclusion proofs p50 < 1 ms; for scale, Tessera reports
~10,000 entries/s end to end on POSIX/NVMe.

- append: ``log.append`` in transactions of ``--batch`` leaves with fake event
  ids; SQLite foreign keys are OFF for this part only (``ledger_leaf.event``
  references ``epcis_event.id``, and no event rows are written);
- proofs: ``log.inclusion_by_index`` at random indexes against the full tree
  built by the append part (``--leaves``), p50/p99 over ``--proofs`` calls;
- checkpoints: ``log.checkpoint`` (root from the store, Ed25519 signature, row
  insert) after each one-leaf append, and ``sign_note`` alone;
- capture: ``capture_events`` of ``--events`` generated events with the log, and
  with ``log.append`` replaced by a no-op (this script only), interleaved over
  ``--rounds`` rounds: min-max of each, and of the ratio within each round, with
  the load average (a best-of run hides how much a shared machine moves them).

    .venv/bin/python bench/ledger_store.py [--leaves 1000000] [--batch 10000]
        [--proofs 2000] [--events 20000] [--rounds 5] [--folder /tmp]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from mics.db import Database
from mics.ledger.leaf import leaf_data
from mics.ledger.note import Signer, format_checkpoint, sign_note
from mics.ledger.store import log
from mics.registry.demo import ensure_instance
from mics.trace import capture

ORIGIN = "mics.example/bench"
CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
RATIO_ANCHOR = 0.8
PROOF_P50_ANCHOR_MS = 1.0


def _database(path: Path, foreign_keys: bool) -> Database:
    db = Database.from_url(f"sqlite:///{path}")
    if not foreign_keys:

        @event.listens_for(db.engine, "connect")
        def _off(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    db.upgrade()
    return db


def append_rate(db: Database, leaves: int, batch: int) -> float:
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    digest = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
    start = time.perf_counter()
    for first in range(0, leaves, batch):
        with db.transaction() as s:
            log.append(
                s,
                [
                    (i + 1, leaf_data(digest, stamp, f"p{i}"))
                    for i in range(first, min(first + batch, leaves))
                ],
            )
    return leaves / (time.perf_counter() - start)


def proof_latency(db: Database, leaves: int, count: int) -> tuple[float, float]:
    rng = random.Random(7)
    times = []
    for _ in range(count):
        index = rng.randrange(leaves)
        begin = time.perf_counter()
        log.inclusion_by_index(db, index, leaves)
        times.append(time.perf_counter() - begin)
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3


def checkpoint_cost(db: Database, count: int) -> tuple[float, float]:
    signer = Signer.generate(ORIGIN)
    stamp = datetime(2026, 3, 1, tzinfo=UTC)
    digest = "ni:///sha-256;" + "cd" * 32 + "?ver=CBV2.0"
    with db.read() as s:
        size = log.size(s)
    spent = 0.0
    for i in range(count):
        with db.transaction() as s:
            log.append(s, [(10_000_000_000 + i, leaf_data(digest, stamp, "bench"))])
        begin = time.perf_counter()
        log.checkpoint(db, signer, ORIGIN)
        spent += time.perf_counter() - begin
    text_ = format_checkpoint(ORIGIN, size, bytes(32))
    begin = time.perf_counter()
    for _ in range(count):
        sign_note(text_, signer)
    sign = (time.perf_counter() - begin) / count
    return spent / count * 1e3, sign * 1e3


def _events(count: int, offset: int) -> Iterator[dict[str, Any]]:
    for i in range(offset, offset + count):
        yield {
            "type": "ObjectEvent",
            "eventTime": f"2026-03-01T10:{i // 60 % 60:02d}:{i % 60:02d}.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": [f"https://id.gs1.org/01/08012345000012/21/S{i}"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "readPoint": {"id": "https://id.gs1.org/414/8012345000005"},
        }


def capture_rate(folder: Path, events: int, with_log: bool, name: str) -> float:
    db = _database(folder / f"{name}.db", foreign_keys=True)
    ensure_instance(db, "mics-operator")
    original = log.append

    def no_op(session: Session, entries: Any) -> list[int]:
        return []

    if not with_log:
        setattr(log, "append", no_op)  # noqa: B010 - the bench's 'without log' run only
    try:
        begin = time.perf_counter()
        for offset in range(0, events, 5000):  # documents of 5,000 events
            capture.capture_events(
                db, _events(min(5000, events - offset), offset), CONTEXT, "mics-operator"
            )
        rate = events / (time.perf_counter() - begin)
    finally:
        log.append = original
        db.dispose()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--checkpoints", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved capture rounds")
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        path = Path(folder)
        db = _database(path / "log.db", foreign_keys=False)
        appended = append_rate(db, args.leaves, args.batch)
        with db.read() as s:
            pages = s.execute(text("PRAGMA page_count")).scalar_one()
            page = s.execute(text("PRAGMA page_size")).scalar_one()
        p50, p99 = proof_latency(db, args.leaves, args.proofs)
        checkpoint_ms, sign_ms = checkpoint_cost(db, args.checkpoints)
        db.dispose()
        rates: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(max(1, args.rounds)):  # interleaved: each round runs both
            for with_log in (False, True) if round_ % 2 == 0 else (True, False):
                rate = capture_rate(path, args.events, with_log, f"c{round_}{with_log}")
                rates[with_log].append(rate)
    ratios = [a / b for a, b in zip(rates[True], rates[False], strict=True)]
    ratio = min(ratios)

    def spread(values: list[float], form: str) -> str:
        return f"{min(values):{form}}-{max(values):{form}}"

    rows = [
        (
            "store append (leaves/s)",
            f"{appended:,.0f}",
            f"{args.leaves:,} leaves, batch {args.batch:,}",
        ),
        ("inclusion proof p50 (ms)", f"{p50:.3f}", f"at {args.leaves:,} leaves; anchor < 1 ms"),
        ("inclusion proof p99 (ms)", f"{p99:.3f}", f"{args.proofs:,} random leaves"),
        ("checkpoint, store + sign (ms)", f"{checkpoint_ms:.3f}", "log.checkpoint after +1 leaf"),
        ("Ed25519 note signature (ms)", f"{sign_ms:.3f}", "sign_note alone"),
        (
            "capture without log (events/s)",
            spread(rates[False], ",.0f"),
            f"{args.events:,} events, min-max of {len(ratios)} interleaved rounds",
        ),
        ("capture with log (events/s)", spread(rates[True], ",.0f"), "same events and rounds"),
        ("capture ratio with/without", spread(ratios, ".3f"), f"anchor >= {RATIO_ANCHOR}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    print(f"database size after append: {pages * page / 1e6:,.0f} MB")
    print(
        f"proof p50 / anchor: {p50 / PROOF_P50_ANCHOR_MS:.2f}; lowest capture ratio / anchor: "
        f"{ratio / RATIO_ANCHOR:.2f}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
