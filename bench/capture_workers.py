"""Bench: when the capture worker processes win (issue 22 item 5), on this machine, now.

Captures one generated EPCIS document (``bench/capture.py``'s events, as XML or
JSON) of each ``--sizes`` into a fresh SQLite file, in four ways, interleaved
(the order turns each round, so a change of load hits every way alike):

- ``one``: in one process (``MICS_CAPTURE_WORKERS=0``);
- ``warm``: ``--workers`` worker processes started and ready before the clock
  starts, as in a server (``mics.runtime.process_pool.warm`` in its lifespan);
- ``cold``: the same workers started inside the timed capture (the pool shut down
  first), as every capture of a fresh ``mics epcis capture`` process did before;
- ``auto``: the default rule (``MICS_CAPTURE_WORKERS`` unset: ``worth_it``, by the
  number of batches and the spare CPUs), with warm workers. The last way's note
  says which way the default would go at each round (``--ways`` picks the ways).

It prints events/s min-max per way and size, the ratio to ``one`` within each
round (min-max), and the load average before and after.

    PYTHONPATH=src .venv/bin/python bench/capture_workers.py [--sizes 2000,4000,6000,10000]
        [--rounds 3] [--binding xml] [--workers 2]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from capture import NOW, Chains, document, fresh_db  # type: ignore[import-not-found]
from mics.runtime import process_pool
from mics.trace import capture
from mics.trace.prepare import prepare
from mics.trace.xml_writer import to_xml

WAYS = ("one", "warm", "cold", "auto")


def body_of(count: int, binding: str) -> bytes:
    events = list(Chains(seed=3).stream(count))
    text = document(events)
    return to_xml(json.loads(text)) if binding == "xml" else text


def run(folder: Path, name: str, body: bytes, binding: str, way: str, workers: int) -> float:
    """Events/s of one capture of ``body`` the ``way`` asked."""
    if way == "auto":
        os.environ.pop(process_pool.WORKERS_ENV, None)
    else:
        os.environ[process_pool.WORKERS_ENV] = "0" if way == "one" else str(workers)
    if way == "cold":
        process_pool.shutdown()
    elif way in ("warm", "auto"):
        saved = os.environ.get(process_pool.WORKERS_ENV)
        os.environ[process_pool.WORKERS_ENV] = str(workers)  # warm whatever the load
        process_pool.warm(prepare.__module__, wait=True)
        if saved is None:
            os.environ.pop(process_pool.WORKERS_ENV)
    db = fresh_db(folder, f"{name}.db")
    gc.collect()
    start = time.perf_counter()
    result = capture.capture_stream(db, io.BytesIO(body), binding, "pelletteria", now=NOW)
    elapsed = time.perf_counter() - start
    assert result.captured > 0, result.problems[:3]
    assert not result.problems, result.problems[:3]
    db.dispose()
    return result.captured / elapsed


def spread(values: list[float], form: str) -> str:
    return f"{min(values):{form}}-{max(values):{form}}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,6000,10000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binding", choices=("xml", "json"), default="xml")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ways", default=",".join(WAYS), help="of: " + ", ".join(WAYS))
    args = parser.parse_args()
    ways_asked = tuple(w for w in WAYS if w in args.ways.split(","))
    logging.disable(logging.CRITICAL)
    sizes = [int(s) for s in args.sizes.split(",")]
    before = os.getloadavg()
    rates: dict[tuple[int, str], list[float]] = {}
    autos: dict[int, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bodies = {size: body_of(size, args.binding) for size in sizes}
        for round_ in range(args.rounds):
            turn = round_ % len(ways_asked)
            ways = ways_asked[turn:] + ways_asked[:turn]
            for size in sizes:
                batches = -(-size // capture.BATCH)
                os.environ.pop(process_pool.WORKERS_ENV, None)  # the default rule's choice
                went = "workers" if process_pool.worth_it(batches) else "one"
                autos.setdefault(size, []).append(f"{went} (spare {process_pool.spare_cpus():.1f})")
                for way in ways:
                    rate = run(folder, f"{round_}-{size}-{way}", bodies[size], args.binding,
                               way, args.workers)  # fmt: skip
                    rates.setdefault((size, way), []).append(rate)
        process_pool.shutdown()
    after = os.getloadavg()
    size_of = {s: len(b) // s for s, b in bodies.items()}
    print(
        f"{args.binding} documents, ~{max(size_of.values())} bytes an event; {args.rounds} "
        f"interleaved rounds; {args.workers} workers; {os.cpu_count()} CPUs"
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in before)}; "
          f"after: {' '.join(f'{x:.2f}' for x in after)}")  # fmt: skip
    print(f"{'events':>7}  {'way':<5}{'events/s (min-max)':>22}  {'ratio to one':>14}  note")
    for size in sizes:
        one = rates.get((size, "one"))
        for way in ways_asked:
            values = rates[(size, way)]
            ratio = [v / o for v, o in zip(values, one or values, strict=True)]
            note = ", ".join(autos[size]) if way == ways_asked[-1] else ""
            shown = "" if way == "one" else spread(ratio, ".2f")
            print(f"{size:>7}  {way:<5}{spread(values, ',.0f'):>22}  {shown:>14}  {note}")


if __name__ == "__main__":
    main()
