"""Check signed checkpoints of the MICS log offline: consistency and witness quorum.

What ``mics ledger verify-consistency`` runs, importable:

- :func:`verify_checkpoints` checks that a newer signed checkpoint extends an
  older one (RFC 9162 §2.1.4.2);
- :func:`check_quorum` demands ``quorum`` cosignatures from the given witness
  keys (c2sp.org/tlog-cosignature) on the checkpoint the caller trusts.

Offline verification of an *event* (its CBV 2.0 hash rebuilt into a leaf) lives
with the events: :mod:`mics.trace.offline`. No database, no network, no files:
the caller reads them. Failures raise ``VerificationError`` (what was expected,
what was found) or ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mics.errors import InvalidInput
from mics.ledger.note import Checkpoint, Cosignature, Verifier, verify_cosignatures
from mics.ledger.verify import verify_consistency_proof


def verify_checkpoints(
    proof: Mapping[str, Any],
    old_note: str,
    new_note: str,
    verifier: str | Verifier,
    witnesses: Sequence[Verifier] = (),
    quorum: int = 0,
) -> tuple[Checkpoint, Checkpoint, tuple[Cosignature, ...]]:
    """Check that ``new_note`` extends ``old_note``; the quorum applies to the new one."""
    old, new = verify_consistency_proof(proof, old_note, new_note, verifier)
    return old, new, check_quorum(new_note, witnesses, quorum)


def check_quorum(note: str, witnesses: Sequence[Verifier], quorum: int) -> tuple[Cosignature, ...]:
    if quorum < 0 or quorum > len(witnesses):
        raise InvalidInput(
            f"quorum {quorum} of {len(witnesses)} witnesses",
            field="quorum",
            value=quorum,
            expected=f"0..{len(witnesses)} (give one --witness per trusted witness key)",
        )
    if not witnesses:
        return ()
    return tuple(verify_cosignatures(note, witnesses, quorum))
