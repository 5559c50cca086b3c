"""Bench: p50/p99 of every kind of EPCIS read on a large store, and which index each plan uses.

Builds (or reopens) a store of ``bench/capture.py``'s seeded supply-chain events through
``capture_events`` (the path the API uses), then times each read the code issues against
the event tables: genealogy up and down, the SimpleEventQuery filters (``MATCH_*``,
``EQ_*``, time windows, ``eventType``, keyset pages), an operator's and a partner's view
(a partner with no events, the owner of all, one named by many: issue 22 item 4),
the top-level resource lists (``/epcs``), the passport's recall and link reads and the
audit's index read. ``--explain`` prints, for every SQL statement those reads sent, its
plan (``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL) and then each index of
the event tables with the reads whose plans use it: an index no read uses costs every
captured event a B-tree insert for nothing (issue 22, item 4).

    .venv/bin/python bench/queries.py [--store 100000] [--queries 50] [--explain]
    .venv/bin/python bench/queries.py --store 1000000 --keep /tmp/store.db   # build, keep
    .venv/bin/python bench/queries.py --db /tmp/store.db                     # reopen, time

``--store 1000000`` is the issue's size (building it takes ~10-20 minutes on 2 busy cores;
the reads then take ~1 minute); the default, 100,000, runs in ~2 minutes. ``--db`` reopens a
kept store (upgrading it to the code's schema first), so one store built by the old code
can be timed by the old code and, upgraded in a copy, by the new: the before/after of a
schema change in one run. ``--url`` times a store elsewhere (PostgreSQL: an empty database
to build in; with ``--keep F`` the values the reads pick from are kept in ``F.json``, and a
later run with the same ``--url`` and ``--keep`` reopens that store instead of building).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for bench.capture

from bench.capture import CONTEXT, NOW, PARTNERS, Chains

from mics import registry
from mics.db import Database
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.trace import audit_events, capture, genealogy, query, reads, resources
from mics.trace.query import Viewer
from mics.trace.visibility import viewer_for

EVENT_TABLES = ("epcis_event", "epcis_event_epc", "epcis_event_biztx")
GS1 = "https://id.gs1.org"
SAMPLE = 500  # values of each kind kept for the reads to pick from


def build(db: Database, size: int) -> dict[str, list[Any]]:
    """Capture ``size`` events into ``db``; the values the reads pick from."""
    chains = Chains(seed=7)
    stream = chains.stream(size)
    keep: dict[str, list[Any]] = {"points": [], "orders": [], "ids": [], "times": []}
    rng = random.Random(5)

    def noted(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for n, found in enumerate(events):
            if rng.random() < SAMPLE * 4 / size or n < SAMPLE:
                keep["points"].append(found["readPoint"]["id"])
                keep["times"].append(found["eventTime"])
                if "eventID" in found:
                    keep["ids"].append(found["eventID"])
                for entry in found.get("bizTransactionList") or ():
                    if entry["type"] == "po":
                        keep["orders"].append(entry["bizTransaction"])
            yield found

    events = noted(stream)
    stored = 0
    while stored < size:
        batch = [e for _, e in zip(range(capture.CAPTURE_LIMIT), events, strict=False)]
        if not batch:
            break
        stored += capture.capture_events(db, batch, CONTEXT, "pelletteria", now=NOW).captured
    keep["items"], keep["lots"] = chains.items, chains.lots
    return {name: _sample(values, rng) for name, values in keep.items()}


def _sample(values: list[Any], rng: random.Random) -> list[Any]:
    return rng.sample(values, SAMPLE) if len(values) > SAMPLE else values


def partners(db: Database) -> None:
    """The instance and bench/capture.py's partners (the events come from and name them)."""
    ensure_instance(db, "op")
    for pid, code in PARTNERS:
        registry.create_partner(
            db, PartnerIn(id=pid, name=pid, kind="enterprise", is_public=False, gln=code)
        )


def reads_of(db: Database, picks: dict[str, list[Any]]) -> list[tuple[str, Callable[[], Any]]]:
    """Each read, as a call that picks its own arguments at random from ``picks``."""
    rng = random.Random(11)
    every = Viewer(partner=None)
    maison = viewer_for(db, "maison")  # captured none of the events, and none names its GLN
    owner = viewer_for(db, "pelletteria")  # captured every event
    # a partner that a chain's company's GLNs name (source and destination, ~28% of events)
    named = Viewer("maison", (f"{GS1}/417/8054321000012", f"{GS1}/414/8054321000029"))

    def pick(kind: str) -> Any:
        return rng.choice(picks[kind])

    def first_ids(count: int) -> list[int]:
        with db.read() as s:
            top = int(s.scalar(text("SELECT max(id) FROM epcis_event")) or 0)
        start = rng.randrange(1, max(2, top - count))
        return list(range(start, start + count))

    def run(params: Callable[[], dict[str, Any]], viewer: Viewer = every) -> Callable[[], Any]:
        return lambda: query.run(db, params(), viewer)

    def page_ten() -> Any:
        token = query.run(db, {"perPage": "30"}, every).next_token
        for _ in range(9):
            token = query.run(db, {"nextPageToken": token or ""}, every).next_token
        return token

    def window() -> dict[str, str]:
        start = pick("times")
        return {"GE_eventTime": start, "LT_eventTime": start[:11] + "23:59:59.999Z"}

    def session_read(call: Callable[[Any], Any]) -> Callable[[], Any]:
        def read() -> Any:
            with db.read() as s:
                return call(s)

        return read

    return [
        (
            "genealogy upstream (item)",
            lambda: genealogy.trace(db, pick("items"), "upstream", every),
        ),
        (
            "genealogy downstream (lot)",
            lambda: genealogy.trace(db, pick("lots"), "downstream", every),
        ),
        (
            "genealogy upstream, partner view",
            lambda: genealogy.trace(db, pick("items"), "upstream", maison),
        ),
        ("MATCH_epc (item)", run(lambda: {"MATCH_epc": pick("items")})),
        ("MATCH_epc, partner view", run(lambda: {"MATCH_epc": pick("items")}, maison)),
        ("MATCH_anyEPC (item)", run(lambda: {"MATCH_anyEPC": pick("items")})),
        ("MATCH_epcClass (lot)", run(lambda: {"MATCH_epcClass": pick("lots")})),
        ("MATCH_inputEPCClass (lot)", run(lambda: {"MATCH_inputEPCClass": pick("lots")})),
        ("EQ_bizTransaction_po", run(lambda: {"EQ_bizTransaction_po": pick("orders")})),
        ("EQ_readPoint, first page", run(lambda: {"EQ_readPoint": pick("points")})),
        ("EQ_bizLocation, first page", run(lambda: {"EQ_bizLocation": pick("points")})),
        ("EQ_eventID", run(lambda: {"EQ_eventID": pick("ids")})),
        ("eventTime window, by eventTime", run(lambda: {**window(), "orderBy": "eventTime"})),
        (
            "GE_recordTime, by recordTime",
            run(lambda: {"GE_recordTime": "2026-01-01T00:00:00Z", "orderBy": "recordTime"}),
        ),
        (
            "eventType + EQ_bizStep, first page",
            run(lambda: {"eventType": "AssociationEvent", "EQ_bizStep": "assembling"}),
        ),
        ("EQ_disposition, first page", run(lambda: {"EQ_disposition": "retail_sold"})),
        ("/events first page", run(lambda: {})),
        ("/events first page, partner view", run(lambda: {}, maison)),
        ("/events first page, owner's view", run(lambda: {}, owner)),
        ("/events first page, named partner's view", run(lambda: {}, named)),
        ("/events by eventTime, partner view", run(lambda: {"orderBy": "eventTime"}, maison)),
        ("/events by eventTime, owner's view", run(lambda: {"orderBy": "eventTime"}, owner)),
        (
            "/events by eventTime, named view",
            run(lambda: {"orderBy": "eventTime"}, named),
        ),
        ("EQ_readPoint, owner's view", run(lambda: {"EQ_readPoint": pick("points")}, owner)),
        ("/events page 11 (keyset)", run(lambda: {"nextPageToken": page_ten()})),
        ("/epcs first page", lambda: resources.values(db, "epcs", every)),
        (
            "/epcs/{epc}, partner view",
            lambda: _known(resources.check_value, db, pick("items"), maison),
        ),
        ("/bizLocations first page", lambda: resources.values(db, "bizLocations", every)),
        (
            "/bizLocations first page, partner view",
            lambda: resources.values(db, "bizLocations", maison),
        ),
        (
            "/bizLocations first page, owner's view",
            lambda: resources.values(db, "bizLocations", owner),
        ),
        (
            "/epcs first page, named partner's view",
            lambda: resources.values(db, "epcs", named),
        ),
        (
            "passport recall check (epcs)",
            session_read(lambda s: reads.recalls(s, ("epc", "parent"), epcs=[pick("items")])),
        ),
        (
            "passport linking events",
            session_read(lambda s: reads.linking_bodies(s, [pick("items")], ["pelletteria"])),
        ),
        (
            "audit: index rows of 500 events",
            session_read(lambda s: audit_events.indexed(s, first_ids(500))),
        ),
    ]


def _known(check: Callable[..., Any], db: Database, epc: str, viewer: Viewer) -> Any:
    try:
        return check(db, "epcs", epc, viewer)
    except Exception:  # NotFound: the partner does not see it, a read all the same
        return None


def timed(call: Callable[[], Any], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


_USES = re.compile(
    r"(?:USING (?:COVERING )?INDEX|Index (?:Only )?Scan (?:Backward )?using|Bitmap Index Scan on)"
    r" (\w+)|(USING INTEGER PRIMARY KEY|USING PRIMARY KEY)"
)


Sent = dict[str, dict[str, tuple[str, Any]]]  # read -> {key: (sql, parameters)}


def explain(db: Database, statements: Sent) -> None:
    """Each read's statements with their plans; then each index and the reads using it."""
    sqlite = db.engine.dialect.name == "sqlite"
    used: dict[str, set[str]] = {}
    raw = db.engine.raw_connection()
    try:
        for name, sent in statements.items():
            print(f"\n## {name}")
            for sql, parameters in sorted(sent.values(), key=lambda s: s[0]):
                cursor = raw.cursor()
                cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + sql, parameters)
                lines = [str(row[-1] if sqlite else row[0]) for row in cursor.fetchall()]
                print("  " + " ".join(sql.split())[:160])
                for line in lines:
                    print(f"    {line}")
                    for found in _USES.finditer(line):
                        used.setdefault(found.group(1) or "primary key", set()).add(name)
        cursor = raw.cursor()
        if sqlite:
            marks = ",".join("?" * len(EVENT_TABLES))
            cursor.execute(
                f"SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' "
                f"AND tbl_name IN ({marks}) ORDER BY 1, 2",
                EVENT_TABLES,
            )
        else:
            cursor.execute(  # the partitions' own indexes too: the plans name those
                "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() "
                "AND (tablename = ANY(%s) OR tablename LIKE 'epcis\\_event\\_y%%' "
                "OR tablename = 'epcis_event_default') ORDER BY 1, 2",
                (list(EVENT_TABLES),),
            )
        print("\n## indexes of the event tables and the reads whose plans use them")
        for table, index in cursor.fetchall():
            readers = sorted(used.get(index, ()))
            print(f"{table}.{index}: {'; '.join(readers) if readers else 'NO READ USES IT'}")
        print(
            f"primary keys (rowid / integer key): {'; '.join(sorted(used.get('primary key', ())))}"
        )
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--store", type=int, default=100_000, help="events (issue: 1,000,000)")
    parser.add_argument("--queries", type=int, default=50, help="timed calls of each read")
    parser.add_argument("--db", help="reopen this kept SQLite store (no build)")
    parser.add_argument("--keep", help="build the store in this SQLite file and keep it")
    parser.add_argument("--url", help="a database URL to build in instead (PostgreSQL)")
    parser.add_argument("--explain", action="store_true", help="print each statement's plan")
    parser.add_argument(
        "--skip", action="append", default=[], help="leave out the reads whose name has this"
    )
    parser.add_argument(
        "--only", action="append", default=[], help="time only the reads whose name has this"
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db or args.keep or Path(tmp) / "store.db")
        sidecar = Path(f"{path}.json")
        started = time.perf_counter()
        if args.db or (args.url and args.keep and sidecar.exists()):
            db = Database.from_url(args.url or f"sqlite:///{path}")
            db.upgrade()
            picks = json.loads(sidecar.read_text())
            made = f"reopened {args.url or path} (upgraded to this code's schema)"
        else:
            db = Database.from_url(args.url or f"sqlite:///{path}")
            db.upgrade()
            partners(db)
            picks = build(db, args.store)
            sidecar.write_text(json.dumps(picks))
            took = time.perf_counter() - started
            made = f"built {args.store:,} events in {took:,.0f} s ({args.store / took:,.0f}/s)"
        with db.read() as s:
            count = int(s.scalar(text("SELECT count(*) FROM epcis_event")) or 0)
        print(f"store: {count:,} events, {db.engine.dialect.name}; {made}")
        statements: Sent = {}
        current: list[str] = [""]

        def record(_c: Any, _cur: Any, sql: str, parameters: Any, _ctx: Any, many: bool) -> None:
            if not many and sql.lstrip().upper().startswith("SELECT"):
                sent = statements.setdefault(current[0], {})
                sent[sql + repr(parameters)] = (sql, parameters)

        print(f"{'read':<40}{'p50 ms':>9}{'p99 ms':>9}")
        for name, call in reads_of(db, picks):
            if any(part in name for part in args.skip) or (
                args.only and not any(part in name for part in args.only)
            ):
                continue
            call()  # once untimed: caches and the page cache warm, as in a running server
            if args.explain:
                current[0] = name
                event.listen(db.engine, "before_cursor_execute", record)
                call()
                event.remove(db.engine, "before_cursor_execute", record)
            spent = timed(call, args.queries)
            print(f"{name:<40}{statistics.median(spent):>9.2f}{percentile(spent, 0.99):>9.2f}")
        if args.explain:
            explain(db, statements)
        db.dispose()


if __name__ == "__main__":
    main()
