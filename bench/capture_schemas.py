"""Bench: the bare insert of one capture's rows under three layouts of the identifier tables.

The capture schema decision (issue 22, item 4): captures ``EVENTS`` of ``bench/capture.py``'s
events with the current code, reads back every row it wrote, then inserts those rows with
sqlite3 ``executemany`` in one transaction into fresh files of three layouts, in
interleaved rounds, timing CPU seconds (on a shared machine wall time mostly measures the
neighbours):

- ``rowid``: migration 0010's layout (identifier and business-transaction rows with a
  surrogate ``id``, an ``event`` index and an ``(epc, role, event)`` index);
- ``keyed``: 0011's (``WITHOUT ROWID`` tables keyed ``(event, epc, role)`` and
  ``(type, value, event)``, the ``(epc, role, event)`` index);
- ``interned``: every identifier, role-free URI and transaction value in one dictionary
  table (``id``, unique ``uri``), the rows holding integer keys; the interning (look up
  the batch's URIs, insert the new ones) runs inside the timed transaction, as capture
  would have to.

    .venv/bin/python bench/capture_schemas.py [EVENTS=20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, for bench.capture

from bench.capture import NOW, TABLES, Chains, document, dump_rows, fresh_db

from mics.trace import capture

Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]
LAYOUTS = ("rowid", "keyed", "interned")
_ROWID = (
    "CREATE TABLE epcis_event_epc (id INTEGER PRIMARY KEY, event INTEGER NOT NULL, "
    "epc VARCHAR(300) NOT NULL, role VARCHAR(20) NOT NULL)",
    "CREATE INDEX ix_epc_event ON epcis_event_epc (event)",
    "CREATE INDEX ix_epc_epc_role_event ON epcis_event_epc (epc, role, event)",
    "CREATE TABLE epcis_event_biztx (id INTEGER PRIMARY KEY, event INTEGER NOT NULL, "
    "type VARCHAR(200) NOT NULL, value VARCHAR(300) NOT NULL)",
    "CREATE INDEX ix_biztx ON epcis_event_biztx (type, value, event)",
)
_KEYED = (
    "CREATE TABLE epcis_event_epc (event INTEGER NOT NULL, epc VARCHAR(300) NOT NULL, "
    "role VARCHAR(20) NOT NULL, PRIMARY KEY (event, epc, role)) WITHOUT ROWID",
    "CREATE INDEX ix_epc_epc_role_event ON epcis_event_epc (epc, role, event)",
    "CREATE TABLE epcis_event_biztx (type VARCHAR(200) NOT NULL, value VARCHAR(300) NOT NULL, "
    "event INTEGER NOT NULL, PRIMARY KEY (type, value, event)) WITHOUT ROWID",
)
_INTERNED = (
    "CREATE TABLE epcis_uri (id INTEGER PRIMARY KEY, uri TEXT NOT NULL UNIQUE)",
    "CREATE TABLE epcis_event_epc (event INTEGER NOT NULL, epc INTEGER NOT NULL, "
    "role VARCHAR(20) NOT NULL, PRIMARY KEY (event, epc, role)) WITHOUT ROWID",
    "CREATE INDEX ix_epc_epc_role_event ON epcis_event_epc (epc, role, event)",
    "CREATE TABLE epcis_event_biztx (type INTEGER NOT NULL, value INTEGER NOT NULL, "
    "event INTEGER NOT NULL, PRIMARY KEY (type, value, event)) WITHOUT ROWID",
)
_DDL = {"rowid": _ROWID, "keyed": _KEYED, "interned": _INTERNED}


def captured_rows(folder: Path, count: int) -> tuple[Rows, list[str]]:
    """Every row a capture of ``count`` events wrote, and the DDL of its other tables."""
    db = fresh_db(folder, "source.db")
    body = document(list(Chains(seed=3).stream(count)))
    result = capture.capture_stream(db, io.BytesIO(body), "json", "pelletteria", now=NOW)
    assert result.captured == count, result.problems[:3]
    rows = dump_rows(db)
    db.dispose()
    source = sqlite3.connect(folder / "source.db")
    ddl = [
        sql
        for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name NOT IN "
            "('epcis_event_epc', 'epcis_event_biztx') AND name NOT LIKE 'sqlite_%'"
        )
    ]
    source.close()
    return rows, ddl


def _pick(rows: Rows, table: str, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    columns, values = rows[table]
    at = [columns.index(name) for name in names]
    return list(dict.fromkeys(tuple(row[i] for i in at) for row in values))


def _intern(connection: sqlite3.Connection, uris: list[str]) -> dict[str, int]:
    """The dictionary key of each of ``uris``, inserting those not yet in it."""
    known: dict[str, int] = {}
    for start in range(0, len(uris), 500):
        part = uris[start : start + 500]
        marks = ",".join("?" * len(part))
        known.update(
            connection.execute(f"SELECT uri, id FROM epcis_uri WHERE uri IN ({marks})", part)
        )
    top = connection.execute("SELECT max(id) FROM epcis_uri").fetchone()[0] or 0
    new = [uri for uri in dict.fromkeys(uris) if uri not in known]
    for offset, uri in enumerate(new, start=top + 1):
        known[uri] = offset
    connection.executemany(
        "INSERT INTO epcis_uri (id, uri) VALUES (?, ?)", [(known[u], u) for u in new]
    )
    return known


def bare_insert(path: Path, layout: str, rows: Rows, ddl: list[str]) -> float:
    """CPU seconds to insert ``rows`` in ``layout`` in one transaction."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    for sql in (*ddl, *_DDL[layout]):
        connection.execute(sql)
    epcs = _pick(rows, "epcis_event_epc", ("event", "epc", "role"))
    transactions = _pick(rows, "epcis_event_biztx", ("event", "type", "value"))
    start = time.process_time()
    connection.execute("BEGIN")
    for table in TABLES:
        if table in ("epcis_event_epc", "epcis_event_biztx"):
            continue
        columns, values = rows[table]
        marks = ",".join("?" * len(columns))
        connection.executemany(
            f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", values
        )
    if layout == "interned":
        uris = (
            [e for _, e, _ in epcs]
            + [t for _, t, _ in transactions]
            + [v for _, _, v in transactions]
        )
        key = _intern(connection, uris)
        epcs = [(event, key[epc], role) for event, epc, role in epcs]
        transactions = [(event, key[kind], key[value]) for event, kind, value in transactions]
    connection.executemany("INSERT INTO epcis_event_epc (event, epc, role) VALUES (?, ?, ?)", epcs)
    connection.executemany(
        "INSERT INTO epcis_event_biztx (event, type, value) VALUES (?, ?, ?)", transactions
    )
    connection.execute("COMMIT")
    spent = time.process_time() - start
    connection.close()
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows, ddl = captured_rows(folder, args.events)
        rates: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
        for round_ in range(args.rounds):
            for layout in LAYOUTS:
                path = folder / f"{layout}-{round_}.db"
                rates[layout].append(args.events / bare_insert(path, layout, rows, ddl))
                path.unlink()
    per_event = {t: len(rows[t][1]) / args.events for t in TABLES}
    print(
        f"{args.events:,} events; rows an event: "
        + ", ".join(f"{t} {n:.2f}" for t, n in per_event.items())
    )
    print(f"{'layout':<10}{'events / CPU second, min-max':>32}{'median / rowid':>16}")
    base = sorted(rates["rowid"])[len(rates["rowid"]) // 2]
    for layout, values in rates.items():
        median = sorted(values)[len(values) // 2]
        print(f"{layout:<10}{min(values):>20,.0f}-{max(values):<11,.0f}{median / base:>16.2f}")


if __name__ == "__main__":
    main()
