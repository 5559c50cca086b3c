"""Prove an EPCIS event is in the MICS log, offline: the event, a proof, a checkpoint, a key.

What ``mics ledger verify-event`` runs, importable:

- :func:`verify_event` recomputes the event's GS1 CBV 2.0 §8.9 hash
  (:func:`mics.trace.event_hash.event_hash`), rebuilds the ``mics-leaf/v1``
  leaf (:mod:`mics.ledger.leaf`) with the record time and partner named in the
  proof's ``leaf_data``, checks the hash inside ``leaf_data`` is the recomputed
  one, then checks the checkpoint's signature (c2sp.org/signed-note,
  tlog-checkpoint) and the RFC 9162 §2.1.3.2 inclusion path to its root;
- it optionally demands ``quorum`` cosignatures from the given witness keys
  (c2sp.org/tlog-cosignature) on the checkpoint they trust.

No database, no network, no files: the caller reads them. Failures raise
``VerificationError`` (what was expected, what was found) or ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mics.errors import InvalidInput, VerificationError
from mics.ledger.leaf import Leaf, leaf_data, parse_leaf_data
from mics.ledger.note import Checkpoint, Cosignature, Verifier
from mics.ledger.offline import check_quorum
from mics.ledger.verify import verify_event_inclusion
from mics.trace.event_hash import document_events, event_hash


@dataclass(frozen=True)
class EventProven:
    """What a successful :func:`verify_event` established."""

    event_hash: str
    leaf_index: int
    leaf: Leaf
    checkpoint: Checkpoint
    cosignatures: tuple[Cosignature, ...]


def event_and_context(event_json: Mapping[str, Any], proof: Mapping[str, Any]) -> tuple[Any, Any]:
    """The one event in ``event_json`` (a bare event or a one-event document) and its context.

    A document's ``@context`` declares the prefixes of extension fields; for a bare
    event, the proof's ``event_context`` (the capture document's) is the base and
    the event's own ``@context`` adds to it.
    """
    if "epcisBody" in event_json:
        events = document_events(dict(event_json))
        if len(events) != 1:
            raise InvalidInput(
                f"the EPCIS document holds {len(events)} events",
                field="EVENT.json",
                value=len(events),
                expected="exactly one event (or the bare event object)",
            )
        return events[0], event_json.get("@context")
    return dict(event_json), proof.get("event_context")


def verify_event(
    event_json: Mapping[str, Any],
    proof: Mapping[str, Any],
    verifier: str | Verifier,
    checkpoint_note: str | None = None,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> EventProven:
    """Check that the event is in the log at the signed checkpoint (from ``proof`` if None)."""
    event, context = event_and_context(event_json, proof)
    digest = event_hash(event, context)
    claimed = proof.get("leaf_data")
    if not isinstance(claimed, str):
        raise InvalidInput(
            "the proof has no leaf_data",
            field="proof.leaf_data",
            value=claimed,
            expected="the leaf bytes in lowercase hex, as GET /epcis/events/{id}/proof returns",
        )
    try:
        logged = parse_leaf_data(bytes.fromhex(claimed))
    except ValueError:
        raise InvalidInput(
            "proof leaf_data is not hex", field="proof.leaf_data", value=claimed[:80]
        ) from None
    if logged.event_hash != digest:
        raise VerificationError(
            f"expected the event hash {digest} recomputed from the event, got {logged.event_hash} "
            "in the logged leaf: the event differs from the one logged",
            field="event_hash",
        )
    data = leaf_data(digest, logged.record_time, logged.partner)
    note = checkpoint_note if checkpoint_note is not None else proof.get("checkpoint")
    if not isinstance(note, str):
        raise InvalidInput(
            "no checkpoint: give --checkpoint or a proof with a 'checkpoint' note",
            field="checkpoint",
            expected="a signed checkpoint note",
        )
    checkpoint = verify_event_inclusion(data, proof, note, verifier)
    cosignatures = check_quorum(note, witnesses, quorum)
    return EventProven(digest, int(proof["leaf_index"]), logged, checkpoint, cosignatures)
