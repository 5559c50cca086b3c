"""Offline verification of MICS log proofs: no database, no network.

A third party holding a leaf, a proof JSON from the MICS API and a checkpoint
note checks, against the log's published verifier key (c2sp.org/signed-note
vkey):

- ``verify_event_inclusion``: the checkpoint signature (c2sp.org/tlog-checkpoint),
  that the proof is for the checkpoint's tree size, that the leaf hashes to the
  proof's leaf hash (RFC 9162 §2.1.1) and the inclusion path (§2.1.3.2);
- ``verify_consistency_proof``: both checkpoints' signatures and origins and the
  consistency path between their roots (§2.1.4.2).

Proof JSON (hex is lowercase)::

    {"leaf_index": 7, "tree_size": 12, "leaf_data": "<hex>", "leaf_hash": "<hex>",
     "hashes": ["<hex>", ...]}
    {"first": 8, "second": 12, "hashes": [...], "first_root": "<hex>", "second_root": "<hex>"}

Every failure raises ``VerificationError`` (``InvalidInput`` for a proof that is
not shaped like the above).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mics.errors import InvalidInput, VerificationError
from mics.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from mics.ledger.note import Checkpoint, Verifier, open_checkpoint

_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def verify_event_inclusion(
    leaf_data: bytes,
    proof: Mapping[str, Any],
    checkpoint_note: str,
    verifier: str | Verifier,
) -> Checkpoint:
    """Check that ``leaf_data`` is in the log at the signed checkpoint; return it."""
    checkpoint = open_checkpoint(checkpoint_note, _verifier(verifier))
    index = _integer(proof, "leaf_index")
    size = _integer(proof, "tree_size")
    hashes = _hashes(proof)
    if size != checkpoint.size:
        raise VerificationError(
            f"expected a proof for the checkpoint's tree size {checkpoint.size}, got {size}",
            field="tree_size",
        )
    if "leaf_data" in proof and _hex(proof, "leaf_data") != leaf_data:
        raise VerificationError(
            f"expected proof leaf_data {leaf_data.hex()}, got {proof['leaf_data']}",
            field="leaf_data",
        )
    computed = leaf_hash(leaf_data)
    claimed = _hex(proof, "leaf_hash")
    if claimed != computed:
        raise VerificationError(
            f"expected leaf_hash {computed.hex()} (SHA-256 of 0x00 || leaf), got {claimed.hex()}",
            field="leaf_hash",
        )
    verify_inclusion(computed, index, size, hashes, checkpoint.root_hash)
    return checkpoint


def verify_consistency_proof(
    proof: Mapping[str, Any],
    old_checkpoint_note: str,
    new_checkpoint_note: str,
    verifier: str | Verifier,
) -> tuple[Checkpoint, Checkpoint]:
    """Check that the new signed checkpoint extends the old one; return both."""
    key = _verifier(verifier)
    old = open_checkpoint(old_checkpoint_note, key)
    new = open_checkpoint(new_checkpoint_note, key, origin=old.origin)
    first = _integer(proof, "first")
    second = _integer(proof, "second")
    if (first, second) != (old.size, new.size):
        raise VerificationError(
            f"expected a proof from size {old.size} to {new.size}, got {first} to {second}",
            field="first",
        )
    for name, checkpoint in (("first_root", old), ("second_root", new)):
        if name in proof and _hex(proof, name) != checkpoint.root_hash:
            raise VerificationError(
                f"expected {name} {checkpoint.root_hash.hex()} as signed, got {proof[name]}",
                field=name,
            )
    verify_consistency(first, second, _hashes(proof), old.root_hash, new.root_hash)
    return old, new


def _verifier(verifier: str | Verifier) -> Verifier:
    return Verifier.parse(verifier) if isinstance(verifier, str) else verifier


def _integer(proof: Mapping[str, Any], key: str) -> int:
    value = proof.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(
            f"proof {key} is {value!r}",
            field=f"proof.{key}",
            value=value,
            expected="a non-negative integer",
        )
    return value


def _hex(proof: Mapping[str, Any], key: str) -> bytes:
    value = proof.get(key)
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidInput(
            f"proof {key} is not lowercase hex",
            field=f"proof.{key}",
            value=value,
            expected="lowercase hexadecimal",
        )
    return bytes.fromhex(value)


def _hashes(proof: Mapping[str, Any]) -> list[bytes]:
    values = proof.get("hashes")
    if not isinstance(values, list):
        raise InvalidInput(
            "proof hashes is not a list",
            field="proof.hashes",
            value=values,
            expected="a list of 64-digit lowercase hex strings",
        )
    return [_hex({"hashes": value}, "hashes") for value in values]
