"""Bench: CBV 2.0 event hashes per second, MICS vs the reference implementation.

Hashes the same N generated, realistic EPCIS 2.0 JSON-LD events (ObjectEvents with SGTINs, CBV
bare terms, bizTransactions, source/destination, sensor reports, ILMD and user extensions) with
:func:`mics.trace.event_hash.document_hashes` and with PyPI ``epcis-event-hash-generator``
(documents of ``--per-document`` events), checks that both give the same hashes, and prints
events/s and the ratio (target >= 10).

    .venv/bin/python bench/event_hash.py [N] [--per-document 100] [--reference-events 2000]
"""

from __future__ import annotations

import argparse
import copy
import logging
import random
import time
from typing import Any

from mics.trace.event_hash import document_hashes

CONTEXT = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"example": "https://ns.example.com/epcis/"},
]
STEPS = ["shipping", "receiving", "commissioning", "packing", "inspecting", "departing"]
DISPOSITIONS = ["in_transit", "in_progress", "active", "sellable_accessible", "damaged"]


def realistic_event(rng: random.Random) -> dict[str, Any]:
    """An ObjectEvent like those a textile supply chain captures."""
    company = rng.choice(["4012345", "0614141", "8012345"])
    digits = 13 - len(company)
    item = f"{rng.randrange(10**digits):0{digits}d}"
    epcs = [f"urn:epc:id:sgtin:{company}.{item}.{rng.randrange(10**6)}" for _ in range(3)]
    offset = rng.choice(["+01:00", "+02:00", "-05:00", "+00:00"])
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
        f"{rng.randrange(1000):03d}{offset}",
        "eventTimeZoneOffset": offset,
        "recordTime": "2024-06-01T00:00:00Z",
        "epcList": epcs,
        "action": rng.choice(["OBSERVE", "ADD"]),
        "bizStep": rng.choice(STEPS),
        "disposition": rng.choice(DISPOSITIONS),
        "readPoint": {"id": f"urn:epc:id:sgln:{company}.00001.{rng.randrange(100)}"},
        "bizLocation": {"id": f"https://id.gs1.org/414/{company}000019"},
        "bizTransactionList": [
            {
                "type": "po",
                "bizTransaction": f"urn:epcglobal:cbv:bt:{company}000019:{rng.randrange(10**6)}",
            }
        ],
        "sourceList": [{"type": "owning_party", "source": f"urn:epc:id:pgln:{company}.00000"}],
        "quantityList": [
            {
                "epcClass": f"urn:epc:class:lgtin:{company}.{item}.L{rng.randrange(999)}",
                "quantity": rng.choice([1, 2.5, 100, 12.0]),
                "uom": "KGM",
            }
        ],
        "example:fibre": rng.choice(["wool", "cotton", "recycled polyester"]),
    }
    if rng.random() < 0.5:
        event["sensorElementList"] = [
            {
                "sensorMetadata": {
                    "time": event["eventTime"],
                    "deviceID": "urn:epc:id:giai:4000001.111",
                },
                "sensorReport": [
                    {"type": "Temperature", "value": round(rng.uniform(-5, 30), 1), "uom": "CEL"},
                    {"type": "RelativeHumidity", "value": rng.randint(20, 90), "uom": "A93"},
                ],
            }
        ]
    if rng.random() < 0.3:
        event["ilmd"] = {"example:lot": f"LOT{rng.randrange(999)}", "example:origin": "IT"}
    return event


def documents(events: list[dict[str, Any]], per_document: int) -> list[dict[str, Any]]:
    return [
        {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
         "epcisBody": {"eventList": events[i : i + per_document]}}
        for i in range(0, len(events), per_document)
    ]  # fmt: skip


def reference_hashes(doc: dict[str, Any]) -> list[str]:
    from epcis_event_hash_generator import hash_generator, json_to_py

    json_to_py._namespaces.clear()
    tree = json_to_py.event_list_from_epcis_document_json(copy.deepcopy(doc))
    return list(hash_generator.epcis_hashes_from_events(tree))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=20_000)
    parser.add_argument("--per-document", type=int, default=100)
    parser.add_argument(
        "--reference-events", type=int, default=2_000, help="events the slow reference hashes"
    )
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    rng = random.Random(2024)
    events = [realistic_event(rng) for _ in range(args.events)]
    docs = documents(events, args.per_document)

    start = time.perf_counter()
    ours = [h for doc in docs for h in document_hashes(doc)]
    ours_rate = len(ours) / (time.perf_counter() - start)

    print(f"{'implementation':<34}{'events':>8}{'events/s':>12}")
    print(f"{'mics.trace.event_hash':<34}{len(ours):>8}{ours_rate:>12,.0f}")
    try:
        import epcis_event_hash_generator  # noqa: F401
    except ImportError:
        print(
            "epcis-event-hash-generator is not installed (a dev dependency): "
            "`make install-dev` to compare with it; the comparison is skipped"
        )
        return
    ref_docs = documents(events[: min(args.reference_events, args.events)], args.per_document)
    start = time.perf_counter()
    theirs = [h for doc in ref_docs for h in reference_hashes(doc)]
    ref_rate = len(theirs) / (time.perf_counter() - start)
    same = sum(a == b for a, b in zip(ours, theirs, strict=False))

    print(f"{'epcis-event-hash-generator 1.9.3':<34}{len(theirs):>8}{ref_rate:>12,.0f}")
    print(
        f"ratio (target >= 10): {ours_rate / ref_rate:.1f}x; identical hashes: {same}/{len(theirs)}"
    )


if __name__ == "__main__":
    main()
