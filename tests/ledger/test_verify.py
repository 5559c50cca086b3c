"""Offline verification of proof JSON against signed checkpoints, and the leaf encoding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from mics.errors import InvalidInput, VerificationError
from mics.ledger.leaf import leaf_data, parse_leaf_data
from mics.ledger.merkle import MerkleTree, leaf_hash
from mics.ledger.note import Signer, format_checkpoint, sign_note
from mics.ledger.verify import verify_consistency_proof, verify_event_inclusion

ORIGIN = "mics.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
HASH = "ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0"
START = datetime(2026, 11, 24, 20, 30, 0, 123456, tzinfo=UTC)
LEAVES = [leaf_data(HASH, START + timedelta(seconds=i), f"partner-{i % 3}") for i in range(21)]
TREE = MerkleTree()
for _entry in LEAVES:
    TREE.append(_entry)


def _checkpoint(size: int, signer: Signer = LOG) -> str:
    return sign_note(format_checkpoint(ORIGIN, size, TREE.root(size)), signer)


def _inclusion(index: int, size: int) -> dict[str, Any]:
    return {
        "leaf_index": index,
        "tree_size": size,
        "leaf_data": LEAVES[index].hex(),
        "leaf_hash": leaf_hash(LEAVES[index]).hex(),
        "hashes": [h.hex() for h in TREE.inclusion_proof(index, size)],
    }


def _consistency(first: int, second: int) -> dict[str, Any]:
    return {
        "first": first,
        "second": second,
        "hashes": [h.hex() for h in TREE.consistency_proof(first, second)],
        "first_root": TREE.root(first).hex(),
        "second_root": TREE.root(second).hex(),
    }


def test_leaf_encoding_is_the_documented_text() -> None:
    assert LEAVES[0] == (
        b"mics-leaf/v1\nni:///sha-256;" + b"ab" * 32 + b"?ver=CBV2.0\n"
        b"2026-11-24T20:30:00.123Z\npartner-0\n"
    )


def test_leaf_time_is_converted_to_utc_and_truncated_to_milliseconds() -> None:
    rome = timezone(timedelta(hours=1))
    data = leaf_data(HASH, datetime(2026, 11, 24, 21, 30, 0, 999999, tzinfo=rome), "p")
    assert b"\n2026-11-24T20:30:00.999Z\n" in data
    assert parse_leaf_data(data).record_time == datetime(
        2026, 11, 24, 20, 30, 0, 999000, tzinfo=UTC
    )


def test_leaf_parses_back_to_its_fields() -> None:
    event_hash, record_time, partner = parse_leaf_data(LEAVES[4])
    assert (event_hash, record_time, partner) == (
        HASH,
        datetime(2026, 11, 24, 20, 30, 4, 123000, tzinfo=UTC),
        "partner-1",
    )


@pytest.mark.parametrize(
    "data",
    [
        LEAVES[0][:-1],
        LEAVES[0] + b"extra\n",
        LEAVES[0].replace(b"mics-leaf/v1", b"mics-leaf/v2"),
        LEAVES[0].replace(b"ab", b"AB", 1),
        LEAVES[0].replace(b"?ver=CBV2.0", b""),
        LEAVES[0].replace(b".123Z", b"Z"),
        LEAVES[0].replace(b".123Z", b".123+00:00"),
        LEAVES[0].replace(b"2026-11-24", b"2026-02-30"),
        LEAVES[0].replace(b"partner-0", b""),
        LEAVES[0].replace(b"partner-0", b" partner-0"),
        LEAVES[0].replace(b"partner-0", b"part\tner"),
        b"\xff" + LEAVES[0],
    ],
)
def test_malformed_leaves_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_leaf_data(data)


def test_leaf_needs_aware_time_and_valid_fields() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        leaf_data(HASH, datetime(2026, 1, 1), "p")
    with pytest.raises(InvalidInput, match="event_hash"):
        leaf_data("sha256:abc", START, "p")
    with pytest.raises(InvalidInput, match="partner"):
        leaf_data(HASH, START, "a\nb")


def test_inclusion_round_trip_returns_the_signed_checkpoint() -> None:
    for index in (0, 7, 20):
        checkpoint = verify_event_inclusion(
            LEAVES[index], _inclusion(index, 21), _checkpoint(21), LOG.verifier.vkey
        )
        assert (checkpoint.origin, checkpoint.size) == (ORIGIN, 21)
        assert checkpoint.root_hash == TREE.root()


def test_one_byte_tamper_anywhere_in_the_leaf_fails() -> None:
    proof = _inclusion(7, 21)
    note = _checkpoint(21)
    for position in range(len(LEAVES[7])):
        tampered = bytearray(LEAVES[7])
        tampered[position] ^= 0x01
        with pytest.raises(VerificationError):
            verify_event_inclusion(bytes(tampered), proof, note, LOG.verifier)


def test_tampered_proof_fields_fail_with_what_was_expected() -> None:
    note = _checkpoint(21)
    proof = _inclusion(7, 21)
    bad_hash = {**proof, "hashes": ["00" * 32, *proof["hashes"][1:]]}
    with pytest.raises(VerificationError, match="expected root"):
        verify_event_inclusion(LEAVES[7], bad_hash, note, LOG.verifier)
    other_leaf = {**proof, "leaf_data": LEAVES[8].hex(), "leaf_hash": leaf_hash(LEAVES[8]).hex()}
    with pytest.raises(VerificationError, match="expected proof leaf_data"):
        verify_event_inclusion(LEAVES[7], other_leaf, note, LOG.verifier)
    with pytest.raises(VerificationError, match="expected leaf_hash"):
        verify_event_inclusion(LEAVES[7], {**proof, "leaf_hash": "00" * 32}, note, LOG.verifier)
    with pytest.raises(VerificationError, match="expected root"):
        verify_event_inclusion(LEAVES[7], {**proof, "leaf_index": 6}, note, LOG.verifier)


def test_proof_for_another_tree_size_than_the_checkpoint_fails() -> None:
    with pytest.raises(VerificationError, match="tree size 21, got 20"):
        verify_event_inclusion(LEAVES[7], _inclusion(7, 20), _checkpoint(21), LOG.verifier)


def test_checkpoint_signed_by_another_key_or_altered_fails() -> None:
    impostor = Signer(ORIGIN, bytes(32))
    with pytest.raises(VerificationError, match="trusted key"):
        verify_event_inclusion(
            LEAVES[7], _inclusion(7, 21), _checkpoint(21, impostor), LOG.verifier
        )
    forged = _checkpoint(21).replace("\n21\n", "\n22\n")
    with pytest.raises(VerificationError, match="valid signature"):
        verify_event_inclusion(LEAVES[7], _inclusion(7, 21), forged, LOG.verifier)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("leaf_index", -1),
        ("tree_size", "21"),
        ("hashes", "00"),
        ("leaf_hash", "ABCD"),
        ("leaf_index", True),
    ],
)
def test_misshapen_proofs_are_invalid_input(key: str, value: Any) -> None:
    with pytest.raises(InvalidInput, match=f"proof.{key}"):
        verify_event_inclusion(
            LEAVES[7], {**_inclusion(7, 21), key: value}, _checkpoint(21), LOG.verifier
        )


def test_consistency_round_trip_returns_both_checkpoints() -> None:
    old, new = verify_consistency_proof(
        _consistency(13, 21), _checkpoint(13), _checkpoint(21), LOG.verifier.vkey
    )
    assert (old.size, new.size) == (13, 21)
    assert new.root_hash == TREE.root()


def test_consistency_tampering_fails() -> None:
    proof = _consistency(13, 21)
    old, new = _checkpoint(13), _checkpoint(21)
    flipped = {**proof, "hashes": ["ff" + proof["hashes"][0][2:], *proof["hashes"][1:]]}
    with pytest.raises(VerificationError, match="root"):
        verify_consistency_proof(flipped, old, new, LOG.verifier)
    with pytest.raises(VerificationError, match="expected a proof from size 13 to 21"):
        verify_consistency_proof(_consistency(12, 21), old, new, LOG.verifier)
    with pytest.raises(VerificationError, match="expected second_root"):
        verify_consistency_proof({**proof, "second_root": "00" * 32}, old, new, LOG.verifier)
    with pytest.raises(VerificationError):
        verify_consistency_proof(proof, new, old, LOG.verifier)


def test_checkpoints_of_different_logs_are_not_consistent() -> None:
    other_log = Signer("other.example/log", bytes(range(32)))
    other = sign_note(format_checkpoint(other_log.name, 21, TREE.root()), other_log)
    with pytest.raises(VerificationError, match="trusted key"):
        verify_consistency_proof(_consistency(13, 21), _checkpoint(13), other, LOG.verifier)
    mixed = sign_note(format_checkpoint(other_log.name, 21, TREE.root()), LOG)
    with pytest.raises(VerificationError, match="expected checkpoint origin"):
        verify_consistency_proof(_consistency(13, 21), _checkpoint(13), mixed, LOG.verifier)
