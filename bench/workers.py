"""Tag scans and captures over HTTP with ``mics serve --workers 1`` and ``--workers 2``.

Each round starts ``mics serve --workers N`` for N = 1 and 2 (in alternating order)
on a fresh database, warms every tag, then drives for SECONDS each:

- scans: CONNECTIONS keep-alive connections back to back, each GET a genuine SUN
  URL with a rising counter (bare HTTP/1.1 on asyncio streams: httpx costs ~2 ms of
  client CPU a request, which on 2 shared cores would measure the client);
- captures: CONNECTIONS / 4 connections POSTing EPCIS documents of EVENTS new events
  each to ``/epcis/capture``; events/s are counted in the database.

The anchor is one worker in the same round: the ratio 2 workers / 1 worker, with
min-max over the rounds and the load average. Usage:
``python bench/workers.py [--rounds 3] [--seconds 8] [--connections 16] [--events 20]``;
``MICS_BENCH_DATABASE_URL=postgresql+psycopg://...`` runs it on PostgreSQL (a schema of
its own per server start), else a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, func, select, text

from mics.config import Settings
from mics.db import Database, make_engine
from mics.passport import tags
from mics.passport.store import NfcTagRow, TagScanRow
from mics.passport.sun import simulate_sun
from mics.registry.api_keys import create_key
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.registry.store import ItemRow, ProductRow
from mics.trace.store import EventEpcRow

BASE = "https://mics.bench"
URL_ENV = "MICS_BENCH_DATABASE_URL"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Store:
    """A fresh database: a PostgreSQL schema of its own, or a SQLite file in ``folder``."""

    def __init__(self, folder: Path) -> None:
        url = os.environ.get(URL_ENV)
        self.admin = None
        if url and not url.startswith("sqlite"):
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            self.admin = create_engine(url)
            with self.admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            option = f"-csearch_path={self.schema}"
            self.url = f"{url}?options={quote(option)}"
            self.db = Database(make_engine(url, connect_args={"options": option}))
        else:
            self.url = f"sqlite:///{folder / 'bench.db'}"
            self.db = Database.from_url(self.url)
        self.db.upgrade()

    def drop(self) -> None:
        self.db.dispose()
        if self.admin is not None:
            with self.admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()


def scan_paths(db: Database, home: Path, taps: range) -> list[str]:
    """Every tagged item's SUN URL path for each tap in ``taps``, round-robin."""
    master = tags.load_or_create_master_key(home, Settings.from_env().instance)
    with db.read() as s:
        rows = list(
            s.execute(
                select(NfcTagRow.uid, ProductRow.gtin, ItemRow.serial)
                .join(ItemRow, ItemRow.id == NfcTagRow.item_id)
                .join(ProductRow, ProductRow.id == ItemRow.product_id)
            )
        )
    paths = []
    for tap in taps:
        for uid_hex, gtin, serial in rows:
            uid = bytes.fromhex(uid_hex)
            message = simulate_sun(uid, tap, master.meta_read_key, master.file_read_key(uid))
            paths.append(f"/01/{gtin}/21/{quote(serial)}?{message.query()}")
    return paths


def document(number: int, events: int) -> bytes:
    body = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-06-01T10:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "action": "OBSERVE",
                    "bizStep": "inspecting",
                    "eventTime": f"2026-06-01T10:00:{n % 60:02d}.000+02:00",
                    "eventTimeZoneOffset": "+02:00",
                    "epcList": [f"urn:epc:id:sgtin:8012345.000001.WKB{number}x{n}"],
                    "readPoint": {"id": "https://id.gs1.org/414/8012345900015"},
                }
                for n in range(events)
            ]
        },
    }
    return json.dumps(body).encode()


async def http(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str, body: bytes = b""
) -> int:
    writer.write(head.encode() + body)
    answer = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", answer)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return int(answer[9:12])


async def drive(port: int, connections: int, seconds: float, request: Any) -> tuple[int, float]:
    """``connections`` clients, client ``c`` sending ``request(c, k)`` (head, body) for
    k = 0, 1, ... back to back until it returns None; (2xx answers, seconds). Any other
    status stops the run: a figure made of refusals (429s from the scan limiter, say)
    measures nothing."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for k in range(10**9):
                if time.perf_counter() >= deadline:
                    break
                asked = request(index, k)
                if asked is None:  # this client has nothing more to send
                    break
                head, body = asked
                status = await http(reader, writer, head, body)
                if not 200 <= status < 300:
                    raise SystemExit(f"{head.split(' HTTP')[0]} answered {status}")
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(connections)))
    return done, time.perf_counter() - started


def one_server(workers: int, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store(folder)
        db, home = store.db, folder / "var"
        server = None
        try:
            ensure_instance(db, "mics-operator")
            load_demo_registry(db)
            tags.load_tag_demo(db)
            key = create_key(db, "mics-operator", "operator")
            warm = scan_paths(db, home, range(1, 4))
            paths = scan_paths(db, home, range(4, 4 + args.taps))
            port = free_port()
            env = os.environ | {
                "MICS_DATABASE_URL": store.url,
                "MICS_HOME": str(home),
                "MICS_BASE_URL": BASE,
                "MICS_DB_POOL_SIZE": "20",
            }
            command = [sys.executable, "-m", "mics", "serve", "--port", str(port)]
            server = subprocess.Popen(
                [*command, "--workers", str(workers)],
                env=env,
                cwd=folder,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).is_success:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            else:
                raise SystemExit("mics serve did not start within 300 s")

            tagged = len(paths) // args.taps  # scan_paths: tap by tap, every tag in each

            def scan(client: int, k: int, pool: list[str]) -> tuple[str, bytes] | None:
                # Each connection scans its own tags, each tag's taps in order: a tag's
                # counter rises scan by scan, so no scan is a replay (a replay is a failed
                # scan, and the scan limiter refuses a client after CLIENT_BURST of them).
                mine = range(client, tagged, args.connections)
                if not mine:
                    return None
                tap, tag = divmod(k, len(mine))
                if tap * tagged >= len(pool):
                    return None  # every tap of its tags sent
                path = pool[tap * tagged + mine[tag]]
                host = f"127.0.0.1:{port}"
                return (
                    f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n",
                    b"",
                )

            asyncio.run(drive(port, args.connections, 3.0, lambda c, k: scan(c, k, warm)))
            accepted = select(func.count(TagScanRow.id)).where(TagScanRow.verdict == "authentic")
            with db.read() as s:
                warmed = int(s.scalar(accepted) or 0)
            scanned, elapsed = asyncio.run(
                drive(port, args.connections, args.seconds, lambda c, k: scan(c, k, paths))
            )
            with db.read() as s:  # the timed scans only (the warm-up ones were authentic too)
                authentic = int(s.scalar(accepted) or 0) - warmed
            scans_per_s = scanned / elapsed

            def capture(client: int, k: int) -> tuple[str, bytes]:
                body = document(client * 10**6 + k, args.events)
                head = (
                    f"POST /epcis/capture HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {key}\r\nContent-Type: application/ld+json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                )
                return head, body

            time.sleep(1.0)  # the verdicts of the scans are published meanwhile
            captured, elapsed = asyncio.run(
                drive(port, max(1, args.connections // 4), args.seconds, capture)
            )
            with db.read() as s:
                stored = int(
                    s.scalar(
                        select(func.count(EventEpcRow.event)).where(EventEpcRow.epc.like("%WKB%"))
                    )
                    or 0
                )
            if stored != captured * args.events:  # every 202 is a whole document stored
                raise SystemExit(f"{captured} documents answered 202, {stored} events stored")
            return {
                "scans": scans_per_s,
                "authentic": authentic,
                "answered": scanned,
                "captures": captured / elapsed,
                "events": stored / elapsed,
            }
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            store.drop()


def span(values: list[float], digits: int = 0) -> str:
    return f"{min(values):,.{digits}f}-{max(values):,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--events", type=int, default=20, help="events per capture document")
    parser.add_argument("--taps", type=int, default=400, help="scan URLs per tag")
    args = parser.parse_args()
    store = os.environ.get(URL_ENV, "sqlite (temporary file)")
    print(f"workers bench: {store.split('@')[-1]}, {args.rounds} rounds x {args.seconds:.0f} s, "
          f"{args.connections} scan / {max(1, args.connections // 4)} capture connections, "
          f"{args.events} events a document")  # fmt: skip
    figures: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    loads = []
    for round_ in range(args.rounds):
        for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
            loads.append(os.getloadavg()[0])
            found = one_server(workers, args)
            figures[workers].append(found)
            print(f"  round {round_ + 1}, {workers} worker(s): {found['scans']:,.0f} scans/s "
                  f"({found['authentic']:.0f} authentic of {found['answered']:.0f} answered), "
                  f"{found['events']:,.0f} captured events/s, load {loads[-1]:.1f}")  # fmt: skip
    print("| workers | scans/s | captured events/s | ratio to 1 worker (scans; capture) |")
    print("|---|---|---|---|")
    for workers in (1, 2):
        rows = figures[workers]
        scans = [r["scans"] for r in rows]
        events = [r["events"] for r in rows]
        ratio_scans = [r["scans"] / o["scans"] for r, o in zip(rows, figures[1], strict=True)]
        ratio_events = [r["events"] / o["events"] for r, o in zip(rows, figures[1], strict=True)]
        print(f"| {workers} | {span(scans)} | {span(events)} | "
              f"{span(ratio_scans, 2)}; {span(ratio_events, 2)} |")  # fmt: skip
    print(f"load average (1 min) at the starts: {span(loads, 1)} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
