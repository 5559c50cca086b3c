"""RFC 6962/9162 Merkle trees: vectors from transparency-dev/merkle and properties."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mics.errors import InvalidInput, VerificationError
from mics.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    range_hash,
    right_edge,
    root,
    verify_consistency,
    verify_inclusion,
)

# The leaves of the RFC 6962 reference tests (certificate-transparency, transparency-dev).
RFC_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
RFC_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
LEAVES_300 = [leaf_hash(i.to_bytes(2, "big")) for i in range(320)]  # 20 spare for wrong sizes
TREE_300 = MerkleTree(LEAVES_300)


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _vectors(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    files = sorted(folder.rglob("*.json"))
    return [(str(f.relative_to(folder)), json.loads(f.read_text())) for f in files]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree().root() == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


def test_leaf_and_node_hashes_use_rfc6962_prefixes() -> None:
    assert leaf_hash(b"").hex() == RFC_ROOTS[0]
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")).hex() == RFC_ROOTS[1]


def test_roots_of_the_rfc_reference_tree_at_every_size() -> None:
    tree = MerkleTree()
    for size, data in enumerate(RFC_LEAVES, start=1):
        tree.append(data)
        assert tree.root().hex() == RFC_ROOTS[size - 1]
        assert root(tree.node, size).hex() == RFC_ROOTS[size - 1]


def test_inclusion_vectors_happy_paths_verify_and_tampered_ones_fail(shared: Any) -> None:
    vectors = _vectors(shared.path("rfc6962-vectors", "testdata", "inclusion"))
    wrong = []
    for name, v in vectors:
        args = (
            _b64(v["leafHash"]),
            v["leafIdx"],
            v["treeSize"],
            [_b64(p) for p in v["proof"] or []],
            _b64(v["root"]),
        )
        try:
            verify_inclusion(*args)
            accepted = True
        except VerificationError:
            accepted = False
        if accepted == v["wantErr"]:
            wrong.append(name)
    assert wrong == []
    assert len(vectors) == 98
    assert sum(not v["wantErr"] for _, v in vectors) == 6


def test_consistency_vectors_happy_paths_verify_and_tampered_ones_fail(shared: Any) -> None:
    vectors = _vectors(shared.path("rfc6962-vectors", "testdata", "consistency"))
    wrong = []
    for name, v in vectors:
        args = (
            v["size1"],
            v["size2"],
            [_b64(p) for p in v["proof"] or []],
            _b64(v["root1"]),
            _b64(v["root2"]),
        )
        try:
            verify_consistency(*args)
            accepted = True
        except VerificationError:
            accepted = False
        if accepted == v["wantErr"]:
            wrong.append(name)
    assert wrong == []
    assert len(vectors) == 98
    assert sum(not v["wantErr"] for _, v in vectors) == 6


def test_generated_proofs_equal_the_vector_happy_paths(shared: Any) -> None:
    folder = shared.path("rfc6962-vectors", "testdata")
    tree = MerkleTree([leaf_hash(d) for d in RFC_LEAVES])
    for path in sorted(folder.glob("inclusion/[0-9]/happy-path.json")):
        v = json.loads(path.read_text())
        proof = tree.inclusion_proof(v["leafIdx"], v["treeSize"])
        assert proof == [_b64(p) for p in v["proof"] or []], path
    for path in sorted(folder.glob("consistency/[0-9]/happy-path.json")):
        v = json.loads(path.read_text())
        proof = tree.consistency_proof(v["size1"], v["size2"])
        assert proof == [_b64(p) for p in v["proof"] or []], path


def test_consistency_from_three_to_five_follows_rfc_subproof() -> None:
    tree = MerkleTree([leaf_hash(d) for d in RFC_LEAVES])
    hashes = [leaf_hash(d) for d in RFC_LEAVES]
    assert tree.consistency_proof(3, 5) == [
        hashes[2],
        hashes[3],
        node_hash(hashes[0], hashes[1]),
        hashes[4],
    ]


def test_proofs_cost_a_logarithmic_number_of_node_lookups() -> None:
    calls = []

    def node(level: int, index: int) -> bytes:
        calls.append((level, index))
        return TREE_300.node(level, index)

    inclusion_proof(node, 0, 299)
    assert 0 < len(calls) <= 2 * 9
    calls.clear()
    consistency_proof(node, 137, 299)
    assert 0 < len(calls) <= 2 * 9


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_inclusion_proof_verifies_and_bit_flips_fail(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(TREE_300.node, index, size)
    top = merkle_tree_hash(LEAVES_300[:size])
    verify_inclusion(LEAVES_300[index], index, size, proof, top)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        flipped = list(proof)
        flipped[position] = _flip(proof[position], bit)
        with pytest.raises(VerificationError):
            verify_inclusion(LEAVES_300[index], index, size, flipped, top)
    other = data.draw(st.integers(0, size + 3).filter(lambda i: i != index), label="other")
    with pytest.raises(VerificationError):
        verify_inclusion(LEAVES_300[index], other, size, proof, top)
    # A size whose path has another length cannot pass; same-shaped paths are
    # why the size itself is signed in the checkpoint.
    wrong = data.draw(st.integers(index + 1, 310).filter(lambda s: s != size), label="wrong")
    if len(inclusion_proof(TREE_300.node, index, wrong)) != len(proof):
        with pytest.raises(VerificationError):
            verify_inclusion(LEAVES_300[index], index, wrong, proof, top)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_consistency_proof_verifies_and_tampering_fails(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, 300), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    proof = consistency_proof(TREE_300.node, size1, size2)
    root1 = merkle_tree_hash(LEAVES_300[:size1])
    root2 = merkle_tree_hash(LEAVES_300[:size2])
    verify_consistency(size1, size2, proof, root1, root2)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        flipped = list(proof)
        flipped[position] = _flip(proof[position], data.draw(st.integers(0, 255)))
        with pytest.raises(VerificationError):
            verify_consistency(size1, size2, flipped, root1, root2)
    # As for inclusion, only sizes whose proofs have another length are sure to fail.
    wrong1 = data.draw(st.integers(1, size2).filter(lambda s: s != size1), label="wrong1")
    if len(consistency_proof(TREE_300.node, wrong1, size2)) != len(proof):
        with pytest.raises(VerificationError):
            verify_consistency(wrong1, size2, proof, root1, root2)
    wrong2 = data.draw(st.integers(size1, 310).filter(lambda s: s != size2), label="wrong2")
    if len(consistency_proof(TREE_300.node, size1, wrong2)) != len(proof):
        with pytest.raises(VerificationError):
            verify_consistency(size1, wrong2, proof, root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(0, size2, proof, root1, root2)
    with pytest.raises(VerificationError):
        verify_consistency(size1, size2, proof, root1, _flip(root2, 0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), max_size=300))
def test_appender_root_equals_the_recursive_root_at_every_size(entries: list[bytes]) -> None:
    edge = CompactRange()
    hashes: list[bytes] = []
    stored: dict[tuple[int, int], bytes] = {}
    for entry in entries:
        h = leaf_hash(entry)
        hashes.append(h)
        for level, index, node in edge.append(h):
            assert (level, index) not in stored
            stored[level, index] = node
        assert edge.root() == merkle_tree_hash(hashes)
    size = len(entries)
    # the completed nodes are exactly the perfect subtrees of the tree
    assert len(stored) == sum(size >> level for level in range(size.bit_length()))
    resumed = CompactRange.resume(size, lambda level, index: stored[level, index])
    assert resumed.root() == edge.root()
    assert resumed.edge == edge.edge
    assert [level for level, _, _ in edge.edge] == [
        level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1
    ]


def test_right_edge_names_one_perfect_node_per_set_bit_largest_first() -> None:
    assert right_edge(0) == []
    assert right_edge(1) == [(0, 0)]
    assert right_edge(8) == [(3, 0)]
    assert right_edge(13) == [(3, 0), (2, 2), (0, 12)]  # leaves 0-7, 8-11, 12
    stored = {(level, index): bytes([level, index]) for level, index in right_edge(13)}
    assert [h for _, _, h in CompactRange.resume(13, lambda *n: stored[n]).edge] == [
        stored[3, 0],
        stored[2, 2],
        stored[0, 12],
    ]
    with pytest.raises(InvalidInput, match="negative"):
        right_edge(-1)


def test_append_returns_the_leaf_and_every_completed_parent() -> None:
    edge = CompactRange()
    a, b, c, d = (leaf_hash(bytes([i])) for i in range(4))
    assert edge.append(a) == [(0, 0, a)]
    assert edge.append(b) == [(0, 1, b), (1, 0, node_hash(a, b))]
    assert edge.append(c) == [(0, 2, c)]
    completed = edge.append(d)
    assert completed[-1] == (2, 0, node_hash(node_hash(a, b), node_hash(c, d)))
    assert edge.size == 4


def test_range_hash_refuses_misaligned_and_empty_ranges() -> None:
    with pytest.raises(InvalidInput, match="not aligned"):
        range_hash(TREE_300.node, 1, 5)
    with pytest.raises(InvalidInput, match="empty"):
        range_hash(TREE_300.node, 4, 4)


def test_proof_generation_rejects_out_of_range_requests() -> None:
    with pytest.raises(InvalidInput, match="outside"):
        inclusion_proof(TREE_300.node, 10, 10)
    with pytest.raises(InvalidInput, match="larger"):
        consistency_proof(TREE_300.node, 11, 10)
    with pytest.raises(InvalidInput, match="empty tree"):
        consistency_proof(TREE_300.node, 0, 10)
    with pytest.raises(InvalidInput, match="empty tree"):
        consistency_proof(TREE_300.node, 0, 0)
    assert consistency_proof(TREE_300.node, 10, 10) == []
    with pytest.raises(InvalidInput, match="beyond"):
        TREE_300.inclusion_proof(0, 321)
    with pytest.raises(InvalidInput, match="no perfect node"):
        TREE_300.node(9, 0)


def test_verification_errors_say_what_was_expected_and_found() -> None:
    top = TREE_300.root(7)
    with pytest.raises(VerificationError, match=f"expected root {top.hex()}, got "):
        verify_inclusion(LEAVES_300[1], 0, 7, TREE_300.inclusion_proof(0, 7), top)
    with pytest.raises(VerificationError, match="expected a 32-byte proof hash 0, got 31 bytes"):
        verify_inclusion(LEAVES_300[0], 0, 7, [b"x" * 31], top)


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)
