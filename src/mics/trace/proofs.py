"""An EPCIS event's proof of inclusion in the transparency log, as the API serves it.

The log (:mod:`mics.ledger.store.log`) proves leaves; this module finds the event's
leaf and adds what a verifier of the *event* needs: its event ID and CBV 2.0
§8.9 hash, the capture document's ``@context`` (to rebuild the hash, see
:mod:`mics.trace.offline`) and the signed checkpoint note with its witness
cosignatures (c2sp.org/tlog-checkpoint, tlog-cosignature).
"""

from __future__ import annotations

from sqlalchemy import select

from mics.db import Database
from mics.ledger.note import Signer
from mics.ledger.store import log
from mics.ledger.store.cosignatures import note_with_cosignatures
from mics.trace.query import StoredEvent
from mics.trace.store import CaptureJobRow


def event_proof(db: Database, signer: Signer, origin: str, event: StoredEvent) -> dict[str, object]:
    """What ``GET /epcis/events/{id}/proof`` serves: the inclusion proof of a stored event.

    The proof is against the latest checkpoint if it already holds the event (so
    witnesses may have cosigned it), else against one signed now; it carries the
    checkpoint note with its cosignatures and the capture document's ``@context``.
    """
    index = log.leaf_index(db, event.id)
    signed = log.latest_checkpoint(db, signer, origin)
    if signed.size <= index:
        signed = log.checkpoint(db, signer, origin)
    proof = log.inclusion_by_index(db, index, signed.size)
    with db.read() as s:
        context = s.scalar(
            select(CaptureJobRow.context).where(CaptureJobRow.id == event.capture_id)
        )
    return proof.as_json() | {
        "event_id": event.event_id,
        "event_hash": event.event_hash,
        "event_context": context,
        "checkpoint": note_with_cosignatures(db, signed),
    }
