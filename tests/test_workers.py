"""Two real ``mics serve`` processes on one database (issue 22 item 3): PostgreSQL, SQLite.

Both servers (the first ``--workers 2``: three processes in all) share the database
(one schema) and ``MICS_HOME`` (its key files, as several hosts would share them), and
are driven at the same time. Whatever they
answer, the store they leave must show:

1. no tag counter accepted twice (the same SUN URL fired at both, several times);
2. no capture or verdict event lost or stored twice: every captured event and every
   published verdict has one event row and one log leaf, and the log's head counts them;
3. no two checkpoints of one tree size with different roots: every checkpoint either
   server signed or served is the one stored, and its root is the log's root at its size.

The PostgreSQL run is skipped, saying why, without PostgreSQL (``MICS_TEST_POSTGRES_URL``);
the SQLite one (one file, two processes of one host) always runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from tests.support import epcis_document, tag_demo

from mics.config import Settings
from mics.db import Database, make_engine
from mics.errors import InvalidInput
from mics.ledger.note import open_checkpoint
from mics.ledger.store import log
from mics.ledger.store.signing_key import load_or_create_signer
from mics.passport import tags
from mics.passport.store import NfcTagRow, TagScanRow
from mics.registry.api_keys import create_key
from mics.trace import subscriptions
from mics.trace.store import EventRow
from mics.trace.webhook_tokens import load_or_create_token_seal

BASE = "https://mics.test"
OPERATOR = "mics-operator"
INSTANCE = Settings.from_env().instance
TAGS, COUNTERS, SHOTS = 4, 5, 2  # each URL fired SHOTS times at each server
DOCUMENTS, EVENTS = 12, 5  # capture documents (half to each server), events in each


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    db: Database
    home: Path
    urls: list[str]
    operator: str  # an operator key: captures and on-demand checkpoints
    logs: list[Path]  # each server's output
    hooks: list[bytes]  # the webhook posts a subscriber received from either server


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Tagged demo items in one database, and two servers on it: a migrated PostgreSQL
    schema, or one SQLite file (two processes of one host: its write gate is a file lock)."""
    home = tmp_path_factory.mktemp("workers")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'workers.db'}"
        db = Database.from_url(url)
        drop: Callable[[], None] = lambda: None  # noqa: E731
    else:
        from tests.databases import postgres_url

        admin_url = postgres_url()
        schema = f"w_{uuid.uuid4().hex[:12]}"
        admin = create_engine(admin_url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        option = f"-csearch_path={schema}"
        url = f"{admin_url}?options={quote(option)}"
        db = Database(make_engine(admin_url, connect_args={"options": option}))

        def drop() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    servers: list[subprocess.Popen[bytes]] = []
    hooks: list[bytes] = []
    receiver = _receiver(hooks)
    try:
        db.upgrade()
        tag_demo(db)
        operator = create_key(db, "mics-operator", "operator")
        # every inspection (captured or a verdict) to a webhook: both servers deliver
        subscriptions.create_query(db, "Inspections", {"EQ_bizStep": ["inspecting"]}, OPERATOR)
        hook = f"http://127.0.0.1:{receiver.server_port}/hook"
        body = {"dest": hook, "signatureToken": "s3cret", "stream": True}
        seal = load_or_create_token_seal(home / "var")
        subscriptions.subscribe(db, "Inspections", body, OPERATOR, seal)
        env = os.environ | {
            "MICS_DATABASE_URL": url,
            "MICS_HOME": str(home / "var"),
            "MICS_BASE_URL": BASE,
            "MICS_DB_POOL_SIZE": "10",
            "MICS_WEBHOOKS_ALLOW_PRIVATE": "1",  # the subscriber is on loopback
        }
        tags.load_or_create_master_key(home / "var", INSTANCE)  # shared, as hosts share it
        ports = [_free_port(), _free_port()]
        for port, workers in zip(ports, ("2", "1"), strict=True):
            # the first with two uvicorn workers of its own: three processes in all
            command = [sys.executable, "-m", "mics", "serve", "--port", str(port)]
            command += ["--workers", workers]
            with (home / f"serve-{port}.log").open("wb") as output:
                servers.append(
                    subprocess.Popen(command, env=env, cwd=home, stdout=output, stderr=output)
                )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for server, port in zip(servers, ports, strict=True):
            _wait_until_up(server, f"http://127.0.0.1:{port}", home / f"serve-{port}.log")
        logs = [home / f"serve-{port}.log" for port in ports]
        yield Cluster(db, home / "var", urls, operator, logs, hooks)
    finally:
        receiver.shutdown()
        receiver.server_close()
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        db.dispose()
        drop()


def _receiver(hooks: list[bytes]) -> ThreadingHTTPServer:
    """A webhook subscriber on loopback that keeps every body posted to it."""

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            hooks.append(self.rfile.read(int(self.headers["content-length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _wait_until_up(server: subprocess.Popen[bytes], base: str, output: Path) -> None:
    deadline = time.monotonic() + 180  # imports take a while on a busy 2-core machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mics serve exited: {output.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    pytest.fail(f"mics serve at {base} did not answer /health within 180 s")


async def _fire(
    waves: list[list[tuple[str, str, dict[str, Any]]]],
    alongside: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
) -> tuple[list[list[httpx.Response]], list[httpx.Response]]:
    """Send each wave's requests at once, wave after wave, and ``alongside`` meanwhile."""
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def in_waves() -> list[list[httpx.Response]]:
            # Each wave from a loopback address of its own: a wave's repeated URLs are
            # replays, failed scans, and the scan limiter refuses a client every scan
            # (its genuine ones too) after CLIENT_BURST of them, as it would a forger.
            answered = []
            for index, wave in enumerate(waves):
                transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{2 + index}")
                async with httpx.AsyncClient(
                    timeout=120, limits=limits, transport=transport
                ) as from_wave:
                    answered.append(
                        await asyncio.gather(*(from_wave.request(m, u, **o) for m, u, o in wave))
                    )
            return answered

        async def at_once() -> list[httpx.Response]:
            return await asyncio.gather(*(client.request(m, u, **o) for m, u, o in alongside))

        return await asyncio.gather(in_waves(), at_once())


def _scan_urls(cluster: Cluster) -> list[tuple[int, int, str]]:
    """(tag id, counter, path) for COUNTERS counters of TAGS tags."""
    master = tags.load_or_create_master_key(cluster.home, INSTANCE)
    with cluster.db.read() as s:
        tagged = list(s.execute(select(NfcTagRow.id, NfcTagRow.item_id).limit(TAGS)))
    found = []
    for tag_id, item_id in tagged:
        for counter in range(1, COUNTERS + 1):
            url = tags.simulate_scan_url(cluster.db, master, item_id, BASE, counter=counter)
            parts = urlsplit(url)
            found.append((tag_id, counter, f"{parts.path}?{parts.query}"))
    return found


def _capture_document(index: int) -> dict[str, Any]:
    events = [
        {
            "type": "ObjectEvent",
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "eventTime": f"2026-06-01T10:{index:02d}:{n:02d}.000+02:00",
            "eventTimeZoneOffset": "+02:00",
            "epcList": [f"urn:epc:id:sgtin:8012345.000001.W{index:03d}{n:03d}"],
            "readPoint": {"id": "https://id.gs1.org/414/8012345900015"},
        }
        for n in range(EVENTS)
    ]
    return epcis_document(events, creationDate="2026-06-01T10:00:00Z")


def _scalar(db: Database, statement: Any) -> int:
    with db.read() as s:
        return int(s.scalar(statement) or 0)


def test_two_servers_share_one_postgresql(cluster: Cluster) -> None:
    """Scans, captures and checkpoints at both servers at once leave one consistent store."""
    scans = _scan_urls(cluster)
    bearer = {"authorization": f"Bearer {cluster.operator}"}
    json_answer = {"headers": {"accept": "application/json"}}
    # One wave per counter: every tag's URL with that counter, SHOTS times to each server.
    waves = [
        [
            ("GET", base + path, json_answer)
            for _, wave_counter, path in scans
            if wave_counter == counter
            for _ in range(SHOTS)
            for base in cluster.urls
        ]
        for counter in range(1, COUNTERS + 1)
    ]
    others: list[tuple[str, str, dict[str, Any]]] = []
    for index in range(DOCUMENTS):
        base, other = cluster.urls[index % 2], cluster.urls[1 - index % 2]
        others.append(
            ("POST", f"{base}/epcis/capture", {"json": _capture_document(index), "headers": bearer})
        )
        others.append(("POST", f"{other}/ledger/checkpoint", {"headers": bearer}))
        others.append(("GET", f"{base}/ledger/checkpoint", {}))
    scan_waves, answers = asyncio.run(_fire(waves, others))
    every = [a for wave in scan_waves for a in wave] + answers
    assert all(a.status_code < 500 for a in every), [a.text for a in every if a.is_error]
    refused = [a.text for wave in scan_waves for a in wave if a.status_code == 429]
    assert not refused, refused  # the limiter would hide a counter accepted or lost

    # 1. each counter accepted exactly once per tag, whichever server answered
    for counter, wave in enumerate(scan_waves, 1):
        won = Counter(
            a.request.url.path
            for a in wave
            if a.status_code == 200 and a.json()["verdict"] == "authentic"
        )
        expected = Counter(urlsplit(path).path for _, c, path in scans if c == counter)
        assert won == expected, counter
        assert len(expected) == TAGS
    with cluster.db.read() as s:
        authentic = select(TagScanRow.tag_id, TagScanRow.counter).where(
            TagScanRow.verdict == "authentic"
        )
        stored = Counter((row[0], row[1]) for row in s.execute(authentic))
        counters = set(
            s.scalars(
                select(NfcTagRow.counter).where(
                    NfcTagRow.id.in_([tag_id for tag_id, _, _ in scans])
                )
            )
        )
    assert stored == Counter({(tag_id, counter): 1 for tag_id, counter, _ in scans})
    assert counters == {COUNTERS}

    # 2. every capture and every verdict stored once, each with one leaf
    captures = [a for a in answers if a.request.url.path == "/epcis/capture"]
    assert [a.status_code for a in captures] == [202] * DOCUMENTS
    _wait_for_publishers(cluster.db)
    with cluster.db.read() as s:
        scan_rows = int(s.scalar(select(func.count(TagScanRow.id))) or 0)
        published = list(s.scalars(select(TagScanRow.event_id)))
        events = int(s.scalar(select(func.count(EventRow.id))) or 0)
        distinct_ids = int(s.scalar(select(func.count(func.distinct(EventRow.event_id)))) or 0)
        verdict_events = int(
            s.scalar(select(func.count(EventRow.id)).where(EventRow.event_id.in_(published))) or 0
        )
        leaves = int(s.scalar(text("SELECT count(*) FROM ledger_leaf")) or 0)
        linked = int(
            s.scalar(
                text("SELECT count(*) FROM ledger_leaf l JOIN epcis_event e ON e.id = l.event")
            )
            or 0
        )
        head = log.size(s)
    judged = [a for wave in scan_waves for a in wave if a.status_code == 200]
    assert scan_rows == len(judged)  # every judged scan recorded (429s were not judged)
    assert len(set(published)) == len(published) == scan_rows  # one event per verdict
    assert verdict_events == scan_rows
    assert events == distinct_ids == DOCUMENTS * EVENTS + scan_rows
    assert leaves == linked == head == events

    # ... and posted to the webhook once, though both servers run delivery rounds
    with cluster.db.read() as s:
        stored_ids = set(s.scalars(select(EventRow.event_id)))
    posted = _posted(cluster.hooks, len(stored_ids))
    assert set(posted) == stored_ids
    assert set(posted.values()) == {1}

    # 3. every checkpoint signed or served is the stored one, with the log's root at its size
    signer = load_or_create_signer(cluster.home, INSTANCE)
    notes = [a.text for a in answers if a.request.url.path == "/ledger/checkpoint"]
    sign_now = [("POST", f"{base}/ledger/checkpoint", {"headers": bearer}) for base in cluster.urls]
    last = asyncio.run(_fire([sign_now]))[0][0]
    assert last[0].text == last[1].text  # both signed the head: one note, the second reused
    notes += [a.text for a in last]
    roots: dict[int, set[bytes]] = {}
    for note in notes:
        checkpoint = open_checkpoint(note, signer.verifier, INSTANCE)
        roots.setdefault(checkpoint.size, set()).add(checkpoint.root_hash)
    assert all(len(found) == 1 for found in roots.values()), roots
    with cluster.db.read() as s:
        for size, (root,) in roots.items():
            assert log.root(s, size) == root
            assert log.checkpoint_at(cluster.db, size).root == root
    assert open_checkpoint(last[0].text, signer.verifier).size == head

    # and nothing failed behind the answers (the publishers, the webhook rounds, the WAL)
    for output in cluster.logs:
        logged = output.read_text(errors="replace")
        assert "Traceback" not in logged, logged[-3000:]


def _posted(hooks: list[bytes], expected: int, timeout: float = 60) -> Counter[str]:
    """How many times each event id reached the webhook, once ``expected`` ids did."""
    deadline = time.monotonic() + timeout
    while True:
        posted = Counter(
            event["eventID"]
            for body in list(hooks)
            for event in json.loads(body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        )
        if len(posted) >= expected or time.monotonic() > deadline:
            return posted
        time.sleep(0.3)


def _wait_for_publishers(db: Database, timeout: float = 60) -> None:
    pending = select(func.count(TagScanRow.id)).where(TagScanRow.event_id.is_(None))
    deadline = time.monotonic() + timeout
    while _scalar(db, pending) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _scalar(db, pending) == 0, "verdicts left unpublished"


def test_workers_refused_with_a_clear_line_when_out_of_range() -> None:
    from mics.cli.app import serve

    with pytest.raises(InvalidInput, match=r"--workers: 0 is not a worker count"):
        serve(workers=0)


def test_more_connections_than_postgresql_accepts_are_refused_in_one_line(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mics.cli.app import check_connections

    monkeypatch.setenv("MICS_DB_POOL_SIZE", "60")
    check_connections(db, 1)  # 60 fit PostgreSQL's default 100 (and SQLite has no limit)
    if db.engine.dialect.name == "sqlite":
        check_connections(db, 64)
        return
    with pytest.raises(InvalidInput, match=r"--workers: 2 workers x 60 connections \(MICS_DB_"):
        check_connections(db, 2)
