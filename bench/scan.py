"""Scan-to-verdict over HTTP on loopback: SUN check, counter update, passport JSON.

Starts ``uvicorn`` with the MICS app in a subprocess (SQLite in a temp folder),
puts NTAG 424 DNA tags on TAGS demo items, writes genuine SUN URLs with rising
counters through the tag simulator, and drives them with ``wrk`` (when
installed; else an httpx async client) against ``/api/ping`` (a constant: the
ceiling) and the scan URLs; then replays fresh URLs at a fixed 500 scans/s with
an open-loop httpx client (latency from each request's scheduled time).
Verdicts are counted in the database afterwards.

Targets (issue 6): >= 1,000 verified scans/s, p99 < 50 ms at 500/s, >= 0.3 of the
ceiling. The ceiling is ``/api/ping``, an ordinary FastAPI route of the app;
scans take a leaner path (``MicsApp`` answers them ahead of FastAPI's routing
and middleware), so the bench also prints, for scale, the floor of the HTTP
server itself: a bare ASGI callable returning a constant under the same
uvicorn (``floor_app`` below, not the app). Usage:
python bench/scan.py [SECONDS] [TAGS] [CONNECTIONS] [WORKERS] [MODE]
(``MICS_BENCH_DATABASE_URL=postgresql+psycopg://...`` runs it on an empty
PostgreSQL database instead of a temporary SQLite file).

MODE ``warm`` (the default) is the run above. Two modes time *first* scans
(issue 22.1; target: a first scan costs at most 2x a warm one), each path once,
on CONNECTIONS keep-alive connections back to back (``first_scans``), in ROUNDS
rounds (``MICS_BENCH_ROUNDS``, 3) with the warm figure from the same round:

- ``restart``: each round starts the server anew on the same database, scans
  every tag once (its first scan in this process) and then once more (warm).
  Round 0 is the very first scan of every tag ever. Before it the bench writes
  every tagged item's passport snapshot, as ``mics passport warm`` does after a
  bulk import (``passport.prebuild``; the bench's tags go straight into the
  database, so the server's prebuilder is not told of them), and prints how long
  that took; with ``MICS_PASSPORT_PREBUILD=0``, or code without
  ``mics.passport.prebuild``, nothing is prebuilt and round 0 assembles.
- ``evict``: the server keeps TAGS / 10 passports (``MICS_PASSPORT_CACHE_SIZE``:
  10x more tags than the cache holds) and scans the tags round-robin, so no
  scan finds its passport in memory; the warm figure is the same pass on a
  server whose cache holds every tag.
SECONDS is unused in these modes (each pass scans every tag once).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from mics.config import Settings
from mics.db import Database
from mics.demo import load_demo
from mics.passport import tags
from mics.passport.store import NEVER_READ, NfcTagRow, TagScanRow
from mics.passport.sun import simulate_sun
from mics.registry.store import ItemRow, ProductRow

HERE = Path(__file__).resolve().parent
PRODUCT = "borsa-aurora"
RATE = 500.0
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("MICS_BENCH_PATHS")) do paths[#paths + 1] = line end
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
function init(args)
  nthreads = tonumber(os.getenv("MICS_BENCH_THREADS"))
  i = tid
end
function request()
  local path = paths[i]
  i = i + nthreads
  if i > #paths then i = tid end
  return wrk.format("GET", path, {["Accept"] = "application/json"})
end
"""


async def floor_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The HTTP server's own floor: a constant with no framework at all."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b'{"ping":"pong"}'})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(db: Database, home: Path, base_url: str, n_tags: int, taps: int) -> list[str]:
    """Demo data, ``n_tags`` tagged items, and ``taps`` rounds of scan paths (round-robin)."""
    load_demo(db)
    with db.transaction() as s:
        product = s.get(ProductRow, PRODUCT)
        assert product is not None
        start = (s.scalar(select(func.max(ItemRow.id))) or 0) + 1
        rows = [
            {"id": start + i, "product_id": PRODUCT, "serial": f"BENCH{i:06d}", "lot": "BENCH"}
            for i in range(n_tags)
        ]
        s.execute(insert(ItemRow), rows)
        s.execute(
            insert(NfcTagRow),
            [{"uid": f"05{r['id']:012X}", "item_id": r["id"], "counter": NEVER_READ} for r in rows],
        )
        gtin = product.gtin
    master = tags.load_or_create_master_key(home, Settings.from_env().instance)
    paths = []
    for tap in range(1, taps + 1):
        for r in rows:
            uid = bytes.fromhex(f"05{r['id']:012X}")
            message = simulate_sun(uid, tap, master.meta_read_key, master.file_read_key(uid))
            paths.append(f"/01/{gtin}/21/{r['serial']}?{message.query()}")
    return paths


def start_server(
    port: int, env: dict[str, str], workers: int, app: str = "mics.api:create_app"
) -> subprocess.Popen[bytes]:
    factory = ["--factory"] if app.endswith("create_app") else ["--app-dir", str(HERE)]
    command = [
        sys.executable, "-m", "uvicorn", *factory, app,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning", "--timeout-keep-alive", "60",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/ping", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("uvicorn did not start")


def run_wrk(url: str, seconds: int, connections: int, paths: Path | None) -> dict[str, float]:
    threads = 2
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    env = os.environ.copy()
    if paths is not None:
        script = paths.with_suffix(".lua")
        script.write_text(WRK_SCRIPT)
        command[1:1] = ["-s", str(script)]
        env |= {"MICS_BENCH_PATHS": str(paths), "MICS_BENCH_THREADS": str(threads)}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": _wrk_ms(out, "50%"),
        "p99": _wrk_ms(out, "99%"),
        "errors": float(len(re.findall(r"Non-2xx|Socket errors", out))),
    }


def _wrk_ms(out: str, label: str) -> float:
    found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out)
    assert found is not None, out
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def closed_loop(
    base: str, paths: list[str], seconds: float, concurrency: int
) -> dict[str, float]:
    """Fallback load generator without wrk: ``concurrency`` clients back to back."""
    latencies: list[float] = []
    queue = iter(paths)
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for path in queue:
                if time.perf_counter() > deadline:
                    return
                sent = time.perf_counter()
                await client.get(path, headers={"Accept": "application/json"})
                latencies.append(time.perf_counter() - sent)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return _summary(latencies, elapsed)


async def get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str
) -> bool:
    """One bare HTTP/1.1 GET on a keep-alive connection; whether it was answered 200."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    return head.startswith(b"HTTP/1.1 200")


async def open_loop(base: str, paths: list[str], rate: float) -> dict[str, float]:
    """``len(paths)`` requests at a fixed ``rate``; latency from each scheduled start.

    A dispatcher starts each request at its time on one of 64 keep-alive
    connections (a request that waits for a free connection still counts its
    wait: no coordinated omission). The client speaks bare HTTP/1.1 on asyncio
    streams: httpx costs ~2 ms of CPU a request, so on 2 cores it could not
    offer even 500 pings/s while sharing them with the server.
    """
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    failed = 0
    connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
    connections = asyncio.Queue()
    for _ in range(64):
        connections.put_nowait(await asyncio.open_connection(host, int(port)))

    async def one(scheduled: float, path: str) -> None:
        nonlocal failed
        reader, writer = await connections.get()
        try:
            if not await get(reader, writer, host, path):
                failed += 1
        except (OSError, asyncio.IncompleteReadError):
            failed += 1
            writer.close()
            reader, writer = await asyncio.open_connection(host, int(port))
        connections.put_nowait((reader, writer))
        latencies.append(time.perf_counter() - scheduled)

    started = time.perf_counter()
    running = []
    for index, path in enumerate(paths):
        scheduled = started + index / rate
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        running.append(asyncio.create_task(one(scheduled, path)))
    await asyncio.gather(*running)
    elapsed = time.perf_counter() - started
    while not connections.empty():
        connections.get_nowait()[1].close()
    return _summary(latencies, elapsed) | {"errors": float(failed)}


def _summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50": ordered[len(ordered) // 2] * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "errors": 0.0,
    }


def verdicts(db: Database) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(select(TagScanRow.verdict, func.count()).group_by(TagScanRow.verdict))
        return {verdict: int(count) for verdict, count in rows}


def pending(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).where(TagScanRow.event_id.is_(None))) or 0)


def bench_database(folder: Path, port: int) -> tuple[str, dict[str, str], Database]:
    """The server's address, its environment, and its migrated (empty) database."""
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        # MICS_BENCH_DATABASE_URL: an empty database elsewhere (PostgreSQL, say)
        "MICS_DATABASE_URL": os.environ.get("MICS_BENCH_DATABASE_URL")
        or f"sqlite:///{folder / 'bench.db'}",
        "MICS_HOME": str(folder / "home"),
        "MICS_BASE_URL": base,
    }
    os.environ.update(env)
    db = Database.from_url(env["MICS_DATABASE_URL"])
    db.upgrade()
    return base, env, db


def main(seconds: int, n_tags: int, connections: int, workers: int) -> None:
    wrk = shutil.which("wrk")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base, env, db = bench_database(folder, port)
        # fresh URLs for up to 8,000 scans/s: a URL used twice is a replay, not a scan
        taps = max(2, int(8000 * seconds / n_tags) + 2)
        paths = prepare(db, folder / "home", base, n_tags, taps)
        fixed = max(1, int(RATE * min(seconds, 10)))
        # The first tap of every tag warms the server (passport cache, connections);
        # the timed runs start from the second tap.
        warm_paths, paths = paths[:n_tags], paths[n_tags:]
        load_paths, rate_paths = paths[:-fixed], paths[-fixed:]
        path_file = folder / "paths.txt"
        path_file.write_text("\n".join(load_paths) + "\n")
        server = start_server(port, env, workers)
        try:
            asyncio.run(closed_loop(base, warm_paths, 600, 4))
            settle = time.perf_counter()  # the warm-up's verdicts are published first
            while pending(db) and time.perf_counter() - settle < 120:
                time.sleep(0.2)
            if wrk:
                ceiling = run_wrk(f"{base}/api/ping", seconds, connections, None)
                scan = run_wrk(base, seconds, connections, path_file)
                tool = "wrk"
            else:
                ceiling = asyncio.run(
                    closed_loop(base, ["/api/ping"] * 10**6, seconds, connections)
                )
                scan = asyncio.run(closed_loop(base, load_paths, seconds, connections))
                tool = "httpx"
            counted = verdicts(db)
            time.sleep(1.0)
            rate = asyncio.run(open_loop(base, rate_paths, RATE))
            drain_start = time.perf_counter()
            while pending(db) and time.perf_counter() - drain_start < 120:
                time.sleep(0.5)
            drained = time.perf_counter() - drain_start
        finally:
            server.terminate()
            server.wait(30)
        floor = None
        if wrk:
            floor_port = free_port()
            floor_server = start_server(floor_port, env, workers, "scan:floor_app")
            try:
                floor = run_wrk(
                    f"http://127.0.0.1:{floor_port}/api/ping", seconds, connections, None
                )
            finally:
                floor_server.terminate()
                floor_server.wait(30)
        total = sum(counted.values())
        authentic = counted.get("authentic", 0)
        verified_rps = scan["rps"] * (authentic / total if total else 0.0)
        print(f"scan bench: {tool}, {connections} connections, {seconds} s, uvicorn x{workers}, "
              f"{n_tags} tags, {db.engine.dialect.name}, {os.cpu_count()} CPUs")  # fmt: skip
        print(f"{'':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        print(f"{'GET /api/ping (ceiling)':30} {ceiling['rps']:9.0f} "
              f"{ceiling['p50']:8.2f} {ceiling['p99']:8.2f}")  # fmt: skip
        print(f"{'scan URL -> verdict + passport':30} {scan['rps']:9.0f} "
              f"{scan['p50']:8.2f} {scan['p99']:8.2f}")  # fmt: skip
        if floor is not None:
            print(f"{'bare ASGI constant (floor)':30} {floor['rps']:9.0f} "
                  f"{floor['p50']:8.2f} {floor['p99']:8.2f}")  # fmt: skip
        print(f"{'scans at fixed 500/s':30} {rate['rps']:9.0f} "
              f"{rate['p50']:8.2f} {rate['p99']:8.2f}")  # fmt: skip
        print(f"open-loop errors (transport or non-200): {rate['errors']:.0f}")
        print(f"verdicts: {counted}; verified scans/s {verified_rps:.0f} (target >= 1000)")
        print(f"verified scans / ceiling {verified_rps / ceiling['rps']:.2f} (target >= 0.3); "
              f"p99 at 500/s {rate['p99']:.1f} ms (target < 50)")  # fmt: skip
        if floor is not None:
            print(f"scans / bare ASGI floor {scan['rps'] / floor['rps']:.3f} (for scale)")
        print(f"EPCIS verdict events: backlog drained {drained:.1f} s after the load")


async def first_scans(base: str, paths: list[str], concurrency: int) -> dict[str, float]:
    """Every path once, ``concurrency`` bare HTTP/1.1 clients back to back (closed loop)."""
    host, port = base.removeprefix("http://").split(":")
    latencies: list[float] = []
    failed = 0
    queue = iter(paths)

    async def client() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(host, int(port))
        for path in queue:
            sent = time.perf_counter()
            if not await get(reader, writer, host, path):
                failed += 1
            latencies.append(time.perf_counter() - sent)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return _summary(latencies, time.perf_counter() - started) | {"errors": float(failed)}


def _settle(db: Database) -> None:
    """Wait for the verdict outbox to empty (each pass starts from the same quiet state)."""
    start = time.perf_counter()
    while pending(db) and time.perf_counter() - start < 120:
        time.sleep(0.2)


def first_scan_main(mode: str, n_tags: int, connections: int, workers: int) -> None:
    """``restart`` and ``evict`` (module docstring): first scans against warm ones."""
    rounds = int(os.environ.get("MICS_BENCH_ROUNDS", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base, env, db = bench_database(folder, port)
        passes = 2 + 4 * rounds
        paths = prepare(db, folder / "home", base, n_tags, passes)
        taps = [paths[n * n_tags : (n + 1) * n_tags] for n in range(passes)]
        small = {"MICS_PASSPORT_CACHE_SIZE": str(max(1, n_tags // 10))}
        rows: list[tuple[str, dict[str, float], dict[str, float]]] = []
        prebuilt = prebuild_snapshots(db, base)

        def run(extra: dict[str, str], *tap_lists: list[str]) -> list[dict[str, float]]:
            server = start_server(port, env | extra, workers)
            try:
                found = []
                for tap in tap_lists:
                    found.append(asyncio.run(first_scans(base, tap, connections)))
                    _settle(db)
                return found
            finally:
                server.terminate()
                server.wait(30)

        loads = [os.getloadavg()[0]]
        # Round 0: the first scan of every tag ever (prebuilt or assembled), then a warm one.
        first, warm = run({}, taps[0], taps[1])
        rows.append((f"never scanned: {'prebuilt' if prebuilt else 'assembled'}", first, warm))
        for r in range(rounds):
            a, b, c, d = taps[2 + 4 * r : 6 + 4 * r]
            if mode == "restart":
                first, warm = run({}, a, b)
                rows.append((f"round {r + 1}: after a restart", first, warm))
            else:
                _, first = run(small, a, b)  # every scan misses the memory cache
                _, warm = run({}, c, d)  # the same after a warm-up, all in memory
                rows.append((f"round {r + 1}: 10x the cache", first, warm))
            loads.append(os.getloadavg()[0])
        counted = verdicts(db)
    print(f"first-scan bench ({mode}): {connections} connections, uvicorn x{workers}, "
          f"{n_tags} tags, {db.engine.dialect.name}, {os.cpu_count()} CPUs, "
          f"load {min(loads):.1f}-{max(loads):.1f}")  # fmt: skip
    print(f"{'':28} {'first/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'warm/s':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'first costs':>11}")  # fmt: skip
    print(f"snapshots before round 0: {prebuilt or 'none prebuilt (scans assemble)'}")
    ratios, ever = [], 0.0
    for label, first, warm in rows:
        ratio = warm["rps"] / first["rps"]
        if not label.startswith("never"):
            ratios.append(ratio)
        else:
            ever = ratio
        print(f"{label:28} {first['rps']:8.0f} {first['p50']:7.2f} {first['p99']:7.2f} "
              f"{warm['rps']:8.0f} {warm['p50']:7.2f} {warm['p99']:7.2f} "
              f"{ratio:10.2f}x")  # fmt: skip
    errors = sum(first["errors"] + warm["errors"] for _, first, warm in rows)
    print(f"verdicts: {counted}; non-200 answers: {errors:.0f}")
    print(f"a first scan costs {min(ratios):.2f}-{max(ratios):.2f}x a warm one "
          f"(target <= 2x; min-max over {len(ratios)} rounds); "
          f"an item's first scan ever {ever:.2f}x")  # fmt: skip


def prebuild_snapshots(db: Database, base: str) -> str | None:
    """Every tagged item's passport snapshots written before round 0 (``mics passport
    warm``); what was done and how fast, or None when nothing was prebuilt."""
    if os.environ.get("MICS_PASSPORT_PREBUILD", "1").strip() in ("0", "false", "no", "off"):
        return None
    try:
        from mics.passport import prebuild
    except ImportError:  # the code measured predates it
        return None
    done = prebuild.warm(db, base)
    return (
        f"prebuilt {done.written} ({done.items} items x {done.written // max(1, done.items)} "
        f"languages) in {done.seconds:.1f} s: {done.items / done.seconds:.0f} items/s, "
        f"{done.written / done.seconds:.0f} snapshots/s, load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    words = sys.argv[1:]
    mode = words.pop() if words and not words[-1].isdigit() else "warm"
    arguments = [int(a) for a in words]
    defaults = [10, 2000, 32, 1]
    seconds, n_tags, connections, workers = arguments + defaults[len(arguments) :]
    if mode == "warm":
        main(seconds, n_tags, connections, workers)
    elif mode in ("restart", "evict"):
        first_scan_main(mode, n_tags, connections, workers)
    else:
        raise SystemExit(f"MODE {mode!r}: expected warm, restart or evict")
