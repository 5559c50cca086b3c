"""The witness (c2sp.org/tlog-witness add-checkpoint): cosign, refuse rollbacks and forks."""

from __future__ import annotations

import pytest

from mics.errors import Forbidden, InvalidInput, VerificationError
from mics.ledger.merkle import MerkleTree
from mics.ledger.note import (
    ALG_COSIGNATURE_V1,
    Signer,
    Verifier,
    format_checkpoint,
    sign_note,
    verify_cosignatures,
)
from mics.ledger.witness import (
    Fork,
    OldSizeMismatch,
    Rollback,
    SameSizeFork,
    WitnessState,
    add_checkpoint,
    format_request,
    parse_request,
)

ORIGIN = "mics.example/log"
LOG = Signer(ORIGIN, bytes(range(32)))
WITNESS = Signer("witness.example/w1", bytes(range(1, 33)), ALG_COSIGNATURE_V1)
T = 1_760_000_000


def tree(count: int, salt: bytes = b"") -> MerkleTree:
    t = MerkleTree()
    for i in range(count):
        t.append(salt + f"leaf {i}".encode())
    return t


def note(t: MerkleTree, size: int, signer: Signer = LOG) -> str:
    return sign_note(format_checkpoint(ORIGIN, size, t.root(size)), signer)


def test_first_checkpoint_is_cosigned_and_the_line_verifies() -> None:
    t = tree(10)
    signed = note(t, 10)
    done = add_checkpoint(None, signed, 0, [], LOG.verifier, WITNESS, T)
    assert done.state == WitnessState(ORIGIN, 10, t.root(10))
    assert done.line.startswith("— witness.example/w1 ")
    found = verify_cosignatures(signed + done.line, [WITNESS.verifier], 1)
    assert [(c.name, c.timestamp) for c in found] == [("witness.example/w1", T)]


def test_growth_with_a_valid_consistency_proof_is_cosigned() -> None:
    t = tree(21)
    state = add_checkpoint(None, note(t, 8), 0, [], LOG.verifier, WITNESS, T).state
    proof = t.consistency_proof(8, 21)
    done = add_checkpoint(state, note(t, 21), 8, proof, LOG.verifier, WITNESS, T + 1)
    assert done.state.size == 21
    assert done.state.root_hash == t.root(21)


def test_rollback_to_a_smaller_tree_is_refused() -> None:
    t = tree(12)
    state = add_checkpoint(None, note(t, 12), 0, [], LOG.verifier, WITNESS, T).state
    with pytest.raises(Rollback, match="old size 12 is larger than the checkpoint size 9"):
        add_checkpoint(state, note(t, 9), 12, [], LOG.verifier, WITNESS, T)
    # claiming an old size of 0 to sneak past: the witness names the size it holds
    with pytest.raises(OldSizeMismatch) as mismatch:
        add_checkpoint(state, note(t, 9), 0, [], LOG.verifier, WITNESS, T)
    assert mismatch.value.latest_size == 12
    assert mismatch.value.status == 409


def test_fork_with_a_different_history_is_refused() -> None:
    honest, forked = tree(20), tree(20, salt=b"x")
    state = add_checkpoint(None, note(honest, 8), 0, [], LOG.verifier, WITNESS, T).state
    # the forked log's own proof is internally consistent but not with what was cosigned
    proof = forked.consistency_proof(8, 20)
    with pytest.raises(Fork, match="not consistent with size 8") as error:
        add_checkpoint(state, note(forked, 20), 8, proof, LOG.verifier, WITNESS, T)
    assert error.value.status == 422


def test_same_size_with_another_root_is_a_fork() -> None:
    honest, forked = tree(8), tree(8, salt=b"x")
    state = add_checkpoint(None, note(honest, 8), 0, [], LOG.verifier, WITNESS, T).state
    with pytest.raises(SameSizeFork, match="the log forked") as error:
        add_checkpoint(state, note(forked, 8), 8, [], LOG.verifier, WITNESS, T)
    assert error.value.status == 409
    again = add_checkpoint(state, note(honest, 8), 8, [], LOG.verifier, WITNESS, T + 5)
    assert again.state == state


def test_checkpoint_not_signed_by_the_trusted_log_key_is_forbidden() -> None:
    other = Signer(ORIGIN, bytes(range(2, 34)))
    with pytest.raises(Forbidden, match="no signature by the trusted log key"):
        add_checkpoint(None, note(tree(3), 3, other), 0, [], LOG.verifier, WITNESS, T)


def test_a_note_signing_key_cannot_cosign() -> None:
    with pytest.raises(InvalidInput, match="not a cosignature/v1 key"):
        add_checkpoint(None, note(tree(3), 3), 0, [], LOG.verifier, LOG, T)


def test_request_body_round_trips_in_the_spec_format() -> None:
    t = tree(21)
    body = format_request(8, t.consistency_proof(8, 21), note(t, 21))
    assert body.startswith("old 8\n")
    old, proof, signed = parse_request(body.encode())
    assert (old, proof, signed) == (8, t.consistency_proof(8, 21), note(t, 21))
    with pytest.raises(InvalidInput, match="old <size>"):
        parse_request("old 08\n\n" + signed)
    with pytest.raises(InvalidInput, match="base64 32-byte hash"):
        parse_request("old 8\nAAAA\n\n" + signed)


def test_k_of_n_quorum_counts_only_trusted_witnesses() -> None:
    t = tree(5)
    signed = note(t, 5)
    keys = [Signer(f"w{i}.example", bytes([i]) * 32, ALG_COSIGNATURE_V1) for i in range(1, 4)]
    outsider = Signer("evil.example", bytes([9]) * 32, ALG_COSIGNATURE_V1)
    lines = [add_checkpoint(None, signed, 0, [], LOG.verifier, k, T).line for k in keys[:2]]
    lines.append(add_checkpoint(None, signed, 0, [], LOG.verifier, outsider, T).line)
    cosigned = signed + "".join(lines)
    trusted: list[Verifier] = [k.verifier for k in keys]
    assert len(verify_cosignatures(cosigned, trusted, 2)) == 2
    with pytest.raises(VerificationError, match="at least 3 of 3 witness cosignatures, got 2"):
        verify_cosignatures(cosigned, trusted, 3)
