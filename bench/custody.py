"""Bench: a chain-of-custody claim decision and a period balance on a large ledger (issue 18).

A site's year of gold: N receipts (recycled and mined), N castings blending them into
lots, and a claim on each lot, all in one account (controlled blending, RJC pack; and
the credit method, ISCC PLUS). Each claim re-reads the whole ledger (the service does:
the check and the write share one lock), so a claim's cost grows with the ledger.

- ms per claim decision with N entries already booked. Target: < 50 ms at 3,000 entries
  (an interactive API call on a year of a busy workshop);
- ms for one period balance and its Sankey bands at 3,000 entries. Target: < 500 ms.

    .venv/bin/python bench/custody.py [--entries 3000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from mics.custody.balance import balance
from mics.custody.ledger import decide
from mics.custody.model import Account, Claim, Entry, Flow
from mics.custody.pack import load
from mics.custody.period import parse_period
from mics.custody.sankey import bands

START = datetime(2026, 1, 1, tzinfo=UTC)


def ledger(n: int) -> list[Entry]:
    entries: list[Entry] = []
    for i in range(n // 3):
        when = START + timedelta(hours=2.5 * i)
        for kind, share, category in (("r", 1.0, "recycled"), ("m", 0.0, "mined")):
            entries.append(
                Entry(
                    "receipt",
                    f"urn:uuid:{kind}{i}",
                    when,
                    "site",
                    "gold",
                    outputs=(Flow(f"{kind}-{i}", 1.0),),
                    shares={"recycled": share},
                    category=category,
                    id=len(entries) + 1,
                )
            )
        entries.append(
            Entry(
                "transformation",
                f"urn:uuid:t{i}",
                when + timedelta(hours=1),
                "site",
                "gold",
                inputs=(Flow(f"r-{i}", 0.6), Flow(f"m-{i}", 0.4)),
                outputs=(Flow(f"lot-{i}", 0.95),),
                product_group="rings",
                step="casting",
                id=len(entries) + 1,
            )
        )
    return entries


def run(model: str, pack_id: str, n: int) -> tuple[float, float]:
    pack = load(pack_id)
    account = Account("site", "gold", "recycled", pack_id, model, {"rings": 0.95}, id=1)
    entries = ledger(n)
    year = parse_period("2026-01-01/2026-12-31")
    claims: list[Claim] = []
    lots = [e.outputs[0].identifier for e in entries if e.kind == "transformation"]
    chosen = lots[-20:]
    started = time.perf_counter()
    for lot in chosen:
        claims.append(decide(account, pack, year, 0.5, [lot], entries, claims))
    per_claim = (time.perf_counter() - started) / len(chosen) * 1000
    started = time.perf_counter()
    balance(account, pack, year, entries, claims)
    bands(entries, account, pack, year)
    per_balance = (time.perf_counter() - started) * 1000
    return per_claim, per_balance


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=3000)
    n = parser.parse_args().entries
    for model, pack in (("controlled_blending", "rjc-coc"), ("mass_balance_credit", "iscc-plus")):
        claim_ms, balance_ms = run(model, pack, n)
        print(
            f"{model:22} {n} entries: claim {claim_ms:7.2f} ms (target < 50, ratio "
            f"{claim_ms / 50:.2f}); balance + Sankey {balance_ms:7.1f} ms (target < 500, "
            f"ratio {balance_ms / 500:.2f})"
        )


if __name__ == "__main__":
    main()
