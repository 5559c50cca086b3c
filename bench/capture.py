"""Bench: EPCIS capture throughput, hashing speed and genealogy latency (issue 3, Performance).

Generates a seeded stream of EPCIS 2.0 events shaped like the demo supply chains (hides -> leather
-> bags, logs -> boards -> chairs, powder -> parts): ObjectEvents commissioning lots with ILMD,
shipping/receiving with sourceList/destinationList and bizTransactions, TransformationEvents with
quantity lists and serialised outputs (1-20 EPCs, as GS1 Digital Links or SGTIN URNs), packing
AggregationEvents, TransactionEvents and AssociationEvents; about 1 KB each. On the SQLite default
(a temporary file, WAL) it prints:

1. events/s of ``capture_stream`` on one JSON document (parse, validate, hash, store, ledger),
   read whole (documents up to ``documents.WHOLE_JSON_BYTES``) and again forced through the
   streaming path that larger documents take; each in one process and with the default
   number of worker processes (``MICS_CAPTURE_WORKERS``, ``mics.runtime.process_pool``);
2. for each, events/s of a bare ``executemany`` of exactly the rows that capture wrote (events,
   identifiers, business transactions, ledger leaves and nodes) in one transaction: the ceiling;
3. hashes/s of ``mics.trace.event_hash`` and of the reference ``epcis-event-hash-generator``,
   and events/s of ``validate_event``;
4. genealogy ``trace`` p50/p99, upstream and downstream of random items and lots, on a store of
   ``--store`` events, and how long building that store took;
5. with ``--postgres URL`` (an empty PostgreSQL database; each round works in a schema of its
   own and drops it), events/s of the same capture on PostgreSQL, held whole in one process,
   and of a bare psycopg ``executemany`` of the rows it wrote, in ``--rounds`` rounds
   alternating with the SQLite capture of the same document: PostgreSQL against SQLite and
   against its own bare insert, min-max (issue 22, item 2).

    .venv/bin/python bench/capture.py [EVENTS=20000] [--store 200000] [--queries 200]
        [--reference-events 2000] [--postgres postgresql+psycopg://... [--rounds 3]]

``--store 1000000`` is the issue's size; building it takes ~10 minutes on 2 cores, so the
default is 200,000 (the store grows through ``capture_events``, the path the API uses).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import logging
import multiprocessing
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mics import registry
from mics.db import Database, make_engine
from mics.registry.demo import ensure_instance
from mics.registry.schemas import PartnerIn
from mics.runtime.process_pool import WORKERS_ENV, worker_count
from mics.trace import capture, documents, genealogy
from mics.trace.event_hash import event_hash
from mics.trace.query import Viewer
from mics.trace.validate import validate_event

CONTEXT: list[Any] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"mda": "https://example.org/mda/"},
]
DL = "https://id.gs1.org"
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
PARTNERS = (
    ("conceria", "8012345900015"),
    ("pelletteria", "8012345900022"),
    ("maison", "8012345900039"),
    ("boutique", "8012345900046"),
)
BT = "urn:epcglobal:cbv:bt:"
TABLES = (
    "capture_job",
    "epcis_event",
    "epcis_event_epc",
    "epcis_event_biztx",
    "ledger_leaf",
    "ledger_node",
)


def check_digit(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def gtin(company: str, ref: int) -> str:
    body = "0" + company + f"{ref:0{12 - len(company)}d}"
    return body + check_digit(body)


def gln(company: str, ref: int) -> str:
    body = company + f"{ref:0{12 - len(company)}d}"
    return body + check_digit(body)


def sscc(company: str, serial: int) -> str:
    body = "0" + company + f"{serial:0{16 - len(company)}d}"
    return body + check_digit(body)


class Chains:
    """Production runs, one after another: each yields the events of one supply chain."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.start = datetime(2024, 1, 1, 6, tzinfo=UTC)
        self.time = self.start
        self.run = 0
        self.lots: list[str] = []  # raw-material and material lots, for queries
        self.items: list[str] = []  # serialised products, for queries

    def stamp(self, hours: float) -> dict[str, str]:
        self.time += timedelta(minutes=hours * 60 * self.rng.uniform(0.5, 1.5))
        offset = self.rng.choice(["+01:00", "+02:00", "+00:00", "-05:00"])
        sign = 1 if offset[0] == "+" else -1
        local = self.time + sign * timedelta(hours=int(offset[1:3]))
        ms = self.rng.randrange(1000)
        text = local.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}{offset}"
        return {"eventTime": text, "eventTimeZoneOffset": offset}

    def place(self, company: str, site: int) -> dict[str, str]:
        if self.rng.random() < 0.5:
            return {"id": f"{DL}/414/{gln(company, site)}"}
        return {"id": f"urn:epc:id:sgln:{company}.{site:0{12 - len(company)}d}.0"}

    def where(self, company: str, site: int) -> dict[str, Any]:
        here = self.place(company, site)
        return {"readPoint": here, "bizLocation": here}

    def event(
        self, kind: str, hours: float, company: str, site: int, **fields: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {"type": kind, **self.stamp(hours), **fields}
        event.update(self.where(company, site))
        if self.rng.random() < 0.3:
            event["eventID"] = f"urn:uuid:{self.rng.getrandbits(128):032x}"
        return event

    def parties(self, sender: str, receiver: str, order: str) -> dict[str, Any]:
        return {
            "sourceList": [
                {"type": "owning_party", "source": f"{DL}/417/{gln(sender, 1)}"},
                {"type": "location", "source": f"{DL}/414/{gln(sender, 2)}"},
            ],
            "destinationList": [
                {"type": "owning_party", "destination": f"{DL}/417/{gln(receiver, 1)}"},
                {"type": "location", "destination": f"{DL}/414/{gln(receiver, 2)}"},
            ],
            "bizTransactionList": [
                {
                    "type": "po",
                    "bizTransaction": f"urn:epcglobal:cbv:bt:{gln(receiver, 1)}:{order}",
                },
                {
                    "type": "desadv",
                    "bizTransaction": f"urn:epcglobal:cbv:bt:{gln(sender, 1)}:D{order}",
                },
            ],
        }

    def serials(self, company: str, ref: int, count: int) -> list[str]:
        code = gtin(company, ref)
        start = self.rng.randrange(10**9)
        if self.rng.random() < 0.5:
            return [f"{DL}/01/{code}/21/{start + i}" for i in range(count)]
        ref_text = code[len(company) + 1 : 13]
        return [f"urn:epc:id:sgtin:{company}.{code[0]}{ref_text}.{start + i}" for i in range(count)]

    def events(self) -> Iterator[dict[str, Any]]:
        """One production run: ~14 events of all five types."""
        rng = self.rng
        self.run += 1
        run = self.run
        self.time = self.start + timedelta(minutes=7 * run)  # runs overlap, like real plants
        raw_co, maker_co, brand_co = "8012345", "8054321", "8098765"
        raw_lot = f"{DL}/01/{gtin(raw_co, 401)}/10/R{run}"
        material = f"{DL}/01/{gtin(maker_co, 418)}/10/M{run}"
        trim = f"urn:epc:class:lgtin:{maker_co}.0{425:05d}.T{run // 8}"  # one lot, 8 runs
        kg = round(rng.uniform(100, 900), 1)
        yield self.event(
            "ObjectEvent", 2, raw_co, 11, action="ADD", bizStep="commissioning",
            disposition="active",
            quantityList=[{"epcClass": raw_lot, "quantity": kg, "uom": "KGM"}],
            ilmd={"mda:countryOfOrigin": "IT", "mda:lotNumber": f"R{run}",
                  "mda:harvestDate": self.time.date().isoformat()},
        )  # fmt: skip
        moved = {"quantityList": [{"epcClass": raw_lot, "quantity": kg, "uom": "KGM"}]}
        order = f"PO-{run}"
        for step, disposition, company, hours in (
            ("shipping", "in_transit", raw_co, 6),
            ("receiving", "in_progress", maker_co, 30),
        ):
            yield self.event(
                "ObjectEvent", hours, company, 12, action="OBSERVE", bizStep=step,
                disposition=disposition, **moved, **self.parties(raw_co, maker_co, order),
            )  # fmt: skip
        yield self.event(
            "TransformationEvent", 48, maker_co, 21, bizStep="commissioning", disposition="active",
            inputQuantityList=[{"epcClass": raw_lot, "quantity": kg, "uom": "KGM"}],
            outputQuantityList=[{"epcClass": material, "quantity": round(kg / 4, 1), "uom": "MTK"}],
            ilmd={"mda:lotNumber": f"M{run}", "mda:process": "chrome-free tanning"},
        )  # fmt: skip
        self.lots += [raw_lot, material]
        bags = self.serials(brand_co, 12 + run % 5, rng.randint(1, 20))
        self.items += bags
        yield self.event(
            "TransformationEvent", 72, maker_co, 22, bizStep="assembling", disposition="active",
            inputQuantityList=[
                {"epcClass": material, "quantity": round(len(bags) * 0.8, 2), "uom": "MTK"},
                {"epcClass": trim, "quantity": len(bags)},
            ],
            outputEPCList=bags, ilmd={"mda:lotNumber": f"B{run}"},
        )  # fmt: skip
        yield self.event(
            "ObjectEvent", 4, maker_co, 22, action="OBSERVE", bizStep="inspecting",
            disposition="conformant", epcList=bags,
        )  # fmt: skip
        case = f"{DL}/00/{sscc(maker_co, run)}"
        yield self.event(
            "AggregationEvent", 2, maker_co, 23, action="ADD", bizStep="packing",
            disposition="in_progress", parentID=case, childEPCs=bags,
        )  # fmt: skip
        order = f"PO-B{run}"
        purchase = [{"type": "po", "bizTransaction": f"{BT}{gln(brand_co, 1)}:{order}"}]
        yield self.event(
            "TransactionEvent", 1, maker_co, 23, action="ADD", bizStep="shipping",
            disposition="in_transit", parentID=case, epcList=bags,
            bizTransactionList=purchase,
        )  # fmt: skip
        for step, disposition, company, hours in (
            ("shipping", "in_transit", maker_co, 3),
            ("receiving", "in_progress", brand_co, 20),
        ):
            yield self.event(
                "ObjectEvent", hours, company, 31, action="OBSERVE", bizStep=step,
                disposition=disposition, epcList=[case], **self.parties(maker_co, brand_co, order),
            )  # fmt: skip
        yield self.event(
            "AggregationEvent", 1, brand_co, 31, action="DELETE", bizStep="unpacking",
            disposition="in_progress", parentID=case, childEPCs=bags,
        )  # fmt: skip
        for n, bag in enumerate(bags[:2]):
            yield self.event(
                "AssociationEvent", 1, brand_co, 32, action="ADD", bizStep="assembling",
                disposition="active", parentID=bag,
                childEPCs=[f"{DL}/8004/{brand_co}NFC{run:07d}{n}"],
            )  # fmt: skip
        yield self.event(
            "ObjectEvent", 200, brand_co, 41, action="OBSERVE", bizStep="retail_selling",
            disposition="retail_sold", epcList=bags[:1],
        )  # fmt: skip

    def stream(self, count: int) -> Iterator[dict[str, Any]]:
        made = 0
        while True:
            for event in self.events():
                if made == count:
                    return
                made += 1
                yield event


def document(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "@context": CONTEXT,
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-24T10:00:00.000Z",
            "epcisBody": {"eventList": events},
        },
        separators=(",", ":"),
    ).encode()


def fresh_db(folder: Path, name: str) -> Database:
    db = Database.from_url(f"sqlite:///{folder / name}")
    db.upgrade()
    ensure_instance(db, "op")
    for pid, code in PARTNERS:
        registry.create_partner(
            db, PartnerIn(id=pid, name=pid, kind="enterprise", is_public=False, gln=code)
        )
    return db


def dump_rows(db: Database) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every row capture wrote, as the DBAPI sees it: the ceiling inserts exactly these."""
    out = {}
    raw = db.engine.raw_connection()
    try:
        for table in TABLES:
            cursor = raw.cursor()
            cursor.execute(f"SELECT * FROM {table}")
            columns = [d[0] for d in cursor.description]
            out[table] = (columns, [tuple(row) for row in cursor.fetchall()])
    finally:
        raw.close()
    return out


def bare_insert(path: Path, rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Seconds to insert ``rows`` with sqlite3 ``executemany`` in one transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA cache_size=-65536")
    start = time.perf_counter()
    connection.execute("BEGIN")
    for table in TABLES:
        columns, values = rows[table]
        marks = ",".join("?" * len(columns))
        connection.executemany(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", values
        )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def capture_figures(
    folder: Path, count: int, *, streamed: bool, workers: int | None
) -> tuple[float, float, int]:
    """Events/s of capture_stream and of the bare insert of its rows.

    ``workers`` sets ``MICS_CAPTURE_WORKERS`` for the capture (None: the default); the
    worker processes start inside the timed capture, as for ``mics epcis capture FILE``.

    ``streamed`` forces the ijson path that documents larger than ``WHOLE_JSON_BYTES`` take
    (the bench's document is ~14 MiB, read whole otherwise). The generated events are
    dropped before the clock starts: held, they are ~50 MB more for every full garbage
    collection to scan, which a server does not carry (it cost the old code ~20%).
    """
    if workers is not None:
        os.environ[WORKERS_ENV] = str(workers)
    body = document(list(Chains(seed=3).stream(count)))
    name = f"{'streamed' if streamed else 'whole'}-{workers}"
    db = fresh_db(folder, f"capture-{name}.db")
    whole = getattr(documents, "WHOLE_JSON_BYTES", None)  # absent before round 3
    if streamed and whole is not None:
        documents.WHOLE_JSON_BYTES = -1
    try:
        start = time.perf_counter()
        result = capture.capture_stream(db, io.BytesIO(body), "json", "pelletteria", now=NOW)
        elapsed = time.perf_counter() - start
    finally:
        if whole is not None:
            documents.WHOLE_JSON_BYTES = whole
    assert result.captured == count, (result.captured, result.problems[:3])
    rows = dump_rows(db)
    db.dispose()
    ceiling = fresh_db(folder, f"ceiling-{name}.db")
    ceiling.dispose()
    bare = bare_insert(folder / f"ceiling-{name}.db", rows)
    return count / elapsed, count / bare, len(body) // count


def postgres_figures(url: str, count: int) -> tuple[float, float]:
    """Events/s of a capture on PostgreSQL (held whole, one process) and of a bare psycopg
    ``executemany`` of the rows it wrote, each in a fresh schema of the database at ``url``."""
    import psycopg
    from psycopg.types.json import Json

    os.environ[WORKERS_ENV] = "0"
    body = document(list(Chains(seed=3).stream(count)))
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    schemas = [f"bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(plain, autocommit=True) as admin:
        for schema in schemas:
            admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            made = []
            for schema in schemas:
                db = Database(make_engine(url, connect_args={"options": f"-csearch_path={schema}"}))
                db.upgrade()
                ensure_instance(db, "op")
                for pid, code in PARTNERS:
                    registry.create_partner(
                        db,
                        PartnerIn(id=pid, name=pid, kind="enterprise", is_public=False, gln=code),
                    )
                made.append(db)
            start = time.perf_counter()
            result = capture.capture_stream(
                made[0], io.BytesIO(body), "json", "pelletteria", now=NOW
            )
            elapsed = time.perf_counter() - start
            assert result.captured == count, (result.captured, result.problems[:3])
            rows = dump_rows(made[0])
            for db in made:
                db.dispose()
            adapted = {  # JSON columns (the capture job's) as psycopg takes them
                table: [
                    [Json(v) if isinstance(v, dict | list) else v for v in row] for row in values
                ]
                for table, (_, values) in rows.items()
            }
            with psycopg.connect(plain, options=f"-csearch_path={schemas[1]}") as connection:
                with connection.cursor() as cursor:
                    start = time.perf_counter()
                    for table in TABLES:
                        columns = rows[table][0]
                        marks = ",".join(["%s"] * len(columns))
                        cursor.executemany(
                            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})",
                            adapted[table],
                        )
                connection.commit()
                bare = time.perf_counter() - start
        finally:
            for schema in schemas:
                admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return count / elapsed, count / bare


def reference_hashes(events: list[dict[str, Any]]) -> list[str]:
    from epcis_event_hash_generator import hash_generator, json_to_py

    doc = json.loads(document(events))
    json_to_py._namespaces.clear()
    tree = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(doc))
    return list(hash_generator.epcis_hashes_from_events(tree))


def validate_figure(count: int) -> float:
    """Events/s of ``validate_event`` on a fresh stream (its caches start cold, as in capture)."""
    events = list(Chains(seed=9).stream(count))
    start = time.perf_counter()
    for index, event in enumerate(events):
        assert not validate_event(event, index, now=NOW, context=CONTEXT)
    return count / (time.perf_counter() - start)


def reference_missing() -> str | None:
    """Why the reference hash package cannot be compared (a dev dependency), or None."""
    try:
        import epcis_event_hash_generator  # noqa: F401
    except ImportError:
        return (
            "epcis-event-hash-generator is not installed (a dev dependency): "
            "`make install-dev` to compare with it; the comparison is skipped"
        )
    return None


def hash_figures(count: int, reference_count: int) -> tuple[float, float | None, int, int]:
    """Hashes/s of ours and of the reference (None when it is not installed)."""
    events = list(Chains(seed=5).stream(count))
    start = time.perf_counter()
    ours = [event_hash(event, CONTEXT) for event in events]
    ours_rate = count / (time.perf_counter() - start)
    if reference_missing() is not None:
        return ours_rate, None, 0, 0
    sample = events[:reference_count]
    start = time.perf_counter()
    theirs = [h for i in range(0, len(sample), 100) for h in reference_hashes(sample[i : i + 100])]
    ref_rate = len(sample) / (time.perf_counter() - start)
    same = sum(a == b for a, b in zip(ours, theirs, strict=False))
    return ours_rate, ref_rate, same, len(theirs)


def genealogy_figures(
    folder: Path, size: int, queries: int
) -> tuple[float, list[float], list[float]]:
    db = fresh_db(folder, "store.db")
    chains = Chains(seed=7)
    stream = chains.stream(size)
    start = time.perf_counter()
    stored = 0
    while stored < size:
        batch = [e for _, e in zip(range(capture.CAPTURE_LIMIT), stream, strict=False)]
        if not batch:
            break
        result = capture.capture_events(db, batch, CONTEXT, "pelletteria", now=NOW)
        stored += result.captured
    build = time.perf_counter() - start
    rng = random.Random(11)
    viewer = Viewer(partner=None)
    upstream, downstream = [], []
    for _ in range(queries):
        item = rng.choice(chains.items)
        started = time.perf_counter()
        up = genealogy.trace(db, item, "upstream", viewer)
        upstream.append(time.perf_counter() - started)
        assert len(up.nodes) >= 3, up.nodes  # item <- material lot <- raw lot, and more
        lot = rng.choice(chains.lots)
        started = time.perf_counter()
        down = genealogy.trace(db, lot, "downstream", viewer)
        downstream.append(time.perf_counter() - started)
        assert len(down.nodes) >= 2, down.nodes
    db.dispose()
    return build, upstream, downstream


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def postgres_rows(
    rows: list[tuple[str, str, str, str]], folder: Path, url: str, count: int, rounds: int
) -> None:
    """Rounds of capture on PostgreSQL and on SQLite, alternating, each in a fresh process."""
    spawn = multiprocessing.get_context("spawn")
    pg: list[tuple[float, float]] = []
    lite: list[float] = []
    for round_ in range(rounds):
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            pg.append(pool.submit(postgres_figures, url, count).result())
        fresh = folder / f"sqlite-round-{round_}"  # capture_figures names its files alike
        fresh.mkdir()
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            run = pool.submit(capture_figures, fresh, count, streamed=False, workers=0)
            lite.append(run.result()[0])

    def span(values: list[float], form: str = ",.0f") -> str:
        return f"{min(values):{form}}-{max(values):{form}}"

    ours = [p for p, _ in pg]
    rows.append(
        (f"PostgreSQL capture, held whole, no workers, {rounds} rounds", span(ours), "", "")
    )
    rows.append(("  bare psycopg executemany, same rows", span([b for _, b in pg]), "", ""))
    rows.append(
        ("  PostgreSQL capture / bare executemany", span([p / b for p, b in pg], ".2f"), "", "")
    )
    rows.append(("  SQLite capture in the same rounds", span(lite), "", ""))
    ratios = [p / s for (p, _), s in zip(pg, lite, strict=True)]
    rows.append(("  PostgreSQL / SQLite capture, per round", span(ratios, ".2f"), ">= 1", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=20_000)
    parser.add_argument(
        "--store",
        type=int,
        default=200_000,
        help="events in the genealogy store (issue: 1,000,000)",
    )
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reference-events", type=int, default=2_000)
    parser.add_argument("--postgres", help="an empty PostgreSQL database's URL (item 5)")
    parser.add_argument("--rounds", type=int, default=3, help="PostgreSQL/SQLite rounds")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        workers = worker_count()
        runs = (
            [(False, 0), (False, None), (True, 0), (True, None)]
            if workers
            else [(False, 0), (True, 0)]
        )
        for streamed, count in runs:
            # each in a fresh process: caches warmed by one capture would flatter the next
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(1, mp_context=spawn) as pool:
                run = pool.submit(
                    capture_figures, folder, args.events, streamed=streamed, workers=count
                )
                ours, bare, size = run.result()
            how = "streamed (ijson)" if streamed else "held whole (orjson)"
            how += f", {workers} workers" if count is None else ", no workers"
            rows.append(
                (
                    f"capture_stream, {how} (events/s)",
                    f"{ours:,.0f}",
                    ">= 20,000",
                    f"{ours / 20_000:.2f} of target",
                )
            )
            rows.append(("  bare executemany, same rows (events/s)", f"{bare:,.0f}", "ceiling", ""))
            rows.append(("  capture / bare insert", f"{ours / bare:.2f}", ">= 0.25", ""))
        if args.postgres:
            postgres_rows(rows, folder, args.postgres, args.events, args.rounds)
        mine, ref, same, checked = hash_figures(args.events, args.reference_events)
        rows.append(("mics event_hash (events/s)", f"{mine:,.0f}", "", ""))
        if ref is None:
            rows.append(("epcis-event-hash-generator 1.9.3", "skipped", "", "make install-dev"))
        else:
            rows.append(
                (
                    "epcis-event-hash-generator 1.9.3",
                    f"{ref:,.0f}",
                    "",
                    f"same hash {same}/{checked}",
                )
            )
            rows.append(("hash speed ratio", f"{mine / ref:.1f}x", ">= 10x", ""))
        checked_rate = validate_figure(args.events)
        rows.append(("mics validate_event (events/s)", f"{checked_rate:,.0f}", "", ""))
        if args.store:
            build, up, down = genealogy_figures(folder, args.store, args.queries)
            both = up + down
            rows.append(
                (
                    f"build store of {args.store:,} events (s)",
                    f"{build:,.1f}",
                    "",
                    f"{args.store / build:,.0f} events/s",
                )
            )
            for name, values in (("upstream", up), ("downstream", down), ("all", both)):
                p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
                rows.append(
                    (f"genealogy {name} p50 / p99 (ms)", f"{p50:.1f} / {p99:.1f}", "p50 < 10", "")
                )
    print(f"events: {args.events:,} of ~{size} bytes each; SQLite file, WAL, synchronous=NORMAL")
    print(f"capture workers: {workers} ({WORKERS_ENV}, started inside the timed capture)")
    missing = reference_missing()
    if missing:
        print(missing)
    print(f"{'measure':<62}{'figure':>16}  {'target':<11}{'note'}")
    for name, figure, target, note in rows:
        print(f"{name:<62}{figure:>16}  {target:<11}{note}")


if __name__ == "__main__":
    main()
