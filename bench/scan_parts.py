"""A tag scan's parts in process, without HTTP: verify and record, group commit, publishing.

On a temporary SQLite file (or the empty database at ``MICS_BENCH_DATABASE_URL``,
PostgreSQL say) with the demo data and TAGS tagged items (as ``bench/scan.py``
prepares them), prints microseconds per scan for ``verify_scan`` with its own
connection and commit, for the same scans in groups of GROUP sharing one commit
(``mics.storage.scan_group``, as the server's event loop runs them), and per
verdict for ``publish_pending`` in its batches. Wall time, on one thread: on
PostgreSQL it includes the server's share of the machine.
Usage: python bench/scan_parts.py [SCANS] [GROUP] [TAGS]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from mics.config import Settings
from mics.db import Database
from mics.passport import scans, tags, verdict_events
from mics.passport.digital_link import DigitalLink, parse_digital_link
from mics.passport.sun import SunMasterKey
from mics.storage.scan_group import member_of, scan_group
from scan import prepare  # type: ignore[import-not-found]  # bench/scan.py, run beside it

Scan = tuple[DigitalLink, str, str]


def _parsed(paths: list[str]) -> list[Scan]:
    found = []
    for path in paths:
        where, query = path.split("?", 1)
        params = dict(part.split("=", 1) for part in query.split("&"))
        found.append((parse_digital_link(where), params["e"], params["c"]))
    return found


def one_by_one(db: Database, master: SunMasterKey, batch: list[Scan]) -> float:
    start = time.perf_counter()
    for link, e, c in batch:
        scans.verify_scan(db, master, link, e, c)
    return time.perf_counter() - start


async def grouped(db: Database, master: SunMasterKey, batch: list[Scan], size: int) -> float:
    group = scan_group(db)
    start = time.perf_counter()
    for first in range(0, len(batch), size):
        for link, e, c in batch[first : first + size]:
            with member_of(group):
                scans.verify_scan(db, master, link, e, c)
        await group.join()[1]
    return time.perf_counter() - start


def main(n_scans: int, size: int, n_tags: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["MICS_HOME"] = str(home)
        url = os.environ.get("MICS_BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'parts.db'}"
        db = Database.from_url(url)
        db.upgrade()
        taps = 2 * n_scans // n_tags + 2
        todo = _parsed(prepare(db, home, "http://bench.invalid", n_tags, taps))
        master = tags.load_or_create_master_key(home, Settings.from_env().instance)
        one_by_one(db, master, todo[:n_tags])  # warm: every tag read once
        first, second = todo[n_tags : n_tags + n_scans], todo[n_tags + n_scans :][:n_scans]
        alone = one_by_one(db, master, first)
        together = asyncio.run(grouped(db, master, second, size))
        start = time.perf_counter()
        published = verdict_events.publish_all(db, Settings.from_env().operator_partner)
        publishing = time.perf_counter() - start
        where = db.engine.dialect.name
        print(f"scan parts: {n_scans} scans each way, {n_tags} tags, {where}, in process")
        print(f"{'verify + record, own commit':34} {1e6 * alone / len(first):8.0f} us a scan")
        print(f"{f'the same in groups of {size}':34} {1e6 * together / len(second):8.0f} us a scan"
              f"  ({alone / len(first) / (together / len(second)):.2f}x)")  # fmt: skip
        batches = f"publish_pending, batches of {verdict_events.batch_size(db)}"
        print(f"{batches:34} {1e6 * publishing / published:8.0f} us a "
              f"verdict ({published} verdicts)")  # fmt: skip


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    defaults = [4000, 10, 2000]
    main(*(arguments + defaults[len(arguments) :]))
