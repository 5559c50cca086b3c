"""Benchmark of the transparency log core: append rate, proof latency, checkpoint signing.

Anchor: 200,000 appends/s on 2 cores (the MICS target; Tessera reports ~10,000
entries/s end to end on POSIX/NVMe, storage included, so the in-memory core
must be far from the bottleneck).

    .venv/bin/python bench/ledger.py [--leaves 1000000] [--proof-size 1000000]
                                     [--proofs 2000] [--signatures 2000]
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hashlib import sha256

from mics.ledger.leaf import leaf_data
from mics.ledger.merkle import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    verify_inclusion,
)
from mics.ledger.note import Signer, Verifier, format_checkpoint, open_note, sign_note

ANCHOR_APPENDS_PER_S = 200_000


def append_rate(count: int) -> tuple[float, float]:
    """Leaves/s for CompactRange.append alone and with leaf encoding and hashing."""
    hashes = [sha256(i.to_bytes(8, "big")).digest() for i in range(count)]
    gc.freeze()  # the inputs are long-lived; keep the collector from rescanning them
    edge = CompactRange()
    append = edge.append
    start = time.perf_counter()
    for h in hashes:
        append(h)
    bare = count / (time.perf_counter() - start)

    event = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
    moment = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)
    entries = [
        leaf_data(event, moment + timedelta(milliseconds=i), "acme-srl") for i in range(count)
    ]
    edge = CompactRange()
    append = edge.append
    start = time.perf_counter()
    for entry in entries:
        append(leaf_hash(entry))
    hashed = count / (time.perf_counter() - start)
    return bare, hashed


def perfect_nodes(size: int) -> dict[tuple[int, int], bytes]:
    """Every perfect node of a tree of ``size``, as the store keeps them."""
    nodes: dict[tuple[int, int], bytes] = {}
    edge = CompactRange()
    for i in range(size):
        for level, index, h in edge.append(sha256(i.to_bytes(8, "big")).digest()):
            nodes[level, index] = h
    return nodes


def latencies(run: Callable[[int], object], samples: int, size: int) -> tuple[float, float]:
    rng = random.Random(7)
    times = []
    for _ in range(samples):
        argument = rng.randrange(1, size)
        start = time.perf_counter()
        run(argument)
        times.append(time.perf_counter() - start)
    cuts = statistics.quantiles(times, n=100)
    return cuts[49] * 1e6, cuts[98] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proof-size", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--signatures", type=int, default=2_000)
    args = parser.parse_args()

    bare, hashed = append_rate(args.leaves)

    size = args.proof_size
    nodes = perfect_nodes(size)
    gc.freeze()  # in production the nodes live in the database, not the Python heap
    lookups = 0

    def node(level: int, index: int) -> bytes:
        nonlocal lookups
        lookups += 1
        return nodes[level, index]

    root = CompactRange.resume(size, node).root()
    probe = inclusion_proof(node, size // 3, size)
    verify_inclusion(nodes[0, size // 3], size // 3, size, probe, root)
    if size <= 4096:
        assert root == merkle_tree_hash([nodes[0, i] for i in range(size)])
    lookups = 0
    incl_p50, incl_p99 = latencies(lambda i: inclusion_proof(node, i, size), args.proofs, size)
    incl_lookups = lookups / args.proofs
    lookups = 0
    cons_p50, cons_p99 = latencies(lambda m: consistency_proof(node, m, size), args.proofs, size)
    cons_lookups = lookups / args.proofs

    signer = Signer("mics.example/log", bytes(range(32)))
    verifier = Verifier.parse(signer.verifier.vkey)
    text = format_checkpoint("mics.example/log", size, root)
    start = time.perf_counter()
    for _ in range(args.signatures):
        note = sign_note(text, signer)
    sign_us = (time.perf_counter() - start) / args.signatures * 1e6
    start = time.perf_counter()
    for _ in range(args.signatures):
        open_note(note, [verifier])
    open_us = (time.perf_counter() - start) / args.signatures * 1e6

    rows = [
        (f"append, leaf hashes given ({args.leaves:,} leaves)", f"{bare:,.0f} leaves/s"),
        (f"append incl. leaf encoding hash ({args.leaves:,})", f"{hashed:,.0f} leaves/s"),
        (f"inclusion proof p50 / p99 (size {size:,})", f"{incl_p50:.1f} / {incl_p99:.1f} µs"),
        ("  node lookups per inclusion proof", f"{incl_lookups:.1f}"),
        (f"consistency proof p50 / p99 (size {size:,})", f"{cons_p50:.1f} / {cons_p99:.1f} µs"),
        ("  node lookups per consistency proof", f"{cons_lookups:.1f}"),
        ("Ed25519 checkpoint sign_note", f"{sign_us:.1f} µs/signature"),
        ("Ed25519 checkpoint open_note (verify)", f"{open_us:.1f} µs/note"),
    ]
    rows += [
        ("anchor: 200,000 appends/s on 2 cores", f"ratio {bare / ANCHOR_APPENDS_PER_S:.2f}"),
        ("  (with leaf hashing)", f"ratio {hashed / ANCHOR_APPENDS_PER_S:.2f}"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
