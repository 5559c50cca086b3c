"""Passport and scan latency while six hostile footprint requests run (issue 13, item 5).

Starts ``uvicorn`` with the MICS app (one worker, SQLite in a temp folder, the
demo data and tagged items as ``bench/scan.py`` prepares them), then runs three
phases of SECONDS each. In every phase an open-loop probe asks for item
passports (JSON) and sends fresh, genuine scan URLs, each at RATE a second, and
records each answer's latency from its scheduled start:

- quiet: nothing else runs;
- anonymous: six clients without a key keep asking for
  ``/api/products/{id}/footprint?monte_carlo=20000`` (three) and
  ``/alternatives?iterations=20000`` (three), each with a new seed, again as soon
  as an answer comes back (0.1 s later when refused);
- keyed: the same six with an operator's key, the comparisons at 10,000
  iterations (two variants: the 20,000 in all a key may ask; 20,000 each is 422).

Prints, per phase, passport and scan p50/p99 (ms), the hostile answers by status
and the server's CPU seconds. Usage: python bench/hostile_footprint.py [SECONDS] [RATE]
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from mics.config import Settings
from mics.db import Database
from mics.registry.api_keys import create_key
from scan import free_port, open_loop, prepare, start_server  # type: ignore[import-not-found]

FOOTPRINT = "/api/products/borsa-aurora/footprint?monte_carlo=20000&seed={seed}"
COMPARISON = "/api/products/pinza-robotica/alternatives?iterations={iterations}&seed={seed}"
PASSPORT_ITEMS = 50


def server_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def hostile(
    base: str, key: str | None, stop: asyncio.Event, statuses: collections.Counter[int]
) -> None:
    """Six clients asking for the largest runs back to back until ``stop``."""
    seeds = itertools.count(1)
    comparison = COMPARISON.format(iterations=10_000 if key else 20_000, seed="{seed}")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as client:

        async def one(template: str) -> None:
            while not stop.is_set():
                response = await client.get(template.format(seed=next(seeds)))
                statuses[response.status_code] += 1
                if response.status_code != 200:
                    await asyncio.sleep(0.1)

        await asyncio.gather(*(one(t) for t in [FOOTPRINT] * 3 + [comparison] * 3))


async def phase(
    base: str, key: str | None, attack: bool, passports: list[str], scans: list[str], rate: float
) -> tuple[dict[str, float], dict[str, float], collections.Counter[int]]:
    stop = asyncio.Event()
    statuses: collections.Counter[int] = collections.Counter()
    attackers = asyncio.create_task(hostile(base, key, stop, statuses)) if attack else None
    if attackers is not None:
        await asyncio.sleep(1.0)  # the six are under way
    passport, scan = await asyncio.gather(
        open_loop(base, passports, rate), open_loop(base, scans, rate)
    )
    stop.set()
    if attackers is not None:
        await attackers  # their last requests finish before the next phase starts
    return passport, scan, statuses


def main(seconds: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = os.environ | {
            "MICS_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "MICS_HOME": str(folder / "home"),
            "MICS_BASE_URL": base,
        }
        os.environ.update(env)
        db = Database.from_url(env["MICS_DATABASE_URL"])
        db.upgrade()
        per_phase = int(seconds * rate)
        n_tags = max(PASSPORT_ITEMS, per_phase)
        scan_paths = prepare(db, folder / "home", base, n_tags, 4)
        key = create_key(db, Settings.from_env().operator_partner, "operator")
        gtin = scan_paths[0].split("/")[2]
        passport_paths = [f"/01/{gtin}/21/BENCH{i % PASSPORT_ITEMS:06d}" for i in range(per_phase)]
        server = start_server(port, env, 1)
        results = []
        try:
            warm = scan_paths[:n_tags]  # tap 1 of every tag; the phases take taps 2, 3, 4
            asyncio.run(open_loop(base, passport_paths[:PASSPORT_ITEMS] + warm[:20], 50))
            for n, (name, attack, who) in enumerate(
                (("quiet", False, None), ("anonymous", True, None), ("keyed", True, key)), 1
            ):
                scans = scan_paths[n * n_tags : n * n_tags + per_phase]
                cpu = server_cpu(server.pid)
                started = time.perf_counter()
                passport, scan, statuses = asyncio.run(
                    phase(base, who, attack, passport_paths, scans, rate)
                )
                elapsed = time.perf_counter() - started
                results.append(
                    (name, passport, scan, statuses, server_cpu(server.pid) - cpu, elapsed)
                )
        finally:
            server.terminate()
            server.wait(30)
        print(
            f"hostile footprint bench: {seconds} s a phase, probes at {rate:g}/s each, "
            f"uvicorn x1, SQLite, {os.cpu_count()} CPUs"
        )
        print(
            f"{'phase':10} {'passport p50/p99 ms':>20} {'scan p50/p99 ms':>18} "
            f"{'probe errors':>12} {'server CPU s':>12} {'wall s':>7}  hostile answers"
        )
        for name, passport, scan, statuses, cpu, elapsed in results:
            answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
            print(
                f"{name:10} {passport['p50']:9.1f} {passport['p99']:9.1f} "
                f"{scan['p50']:8.1f} {scan['p99']:8.1f} "
                f"{passport['errors'] + scan['errors']:12.0f} {cpu:12.1f} {elapsed:7.1f}  "
                f"{answers or '-'}"
            )


if __name__ == "__main__":
    arguments = [float(a) for a in sys.argv[1:]]
    defaults = [20.0, 20.0]
    values = arguments + defaults[len(arguments) :]
    main(int(values[0]), values[1])
