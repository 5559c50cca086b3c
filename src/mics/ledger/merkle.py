"""Merkle tree hashing, proofs and verification (RFC 6962 §2.1, RFC 9162 §2.1).

The tree is the one of RFC 9162 §2.1.1 over SHA-256: a leaf hash is
``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)`` and
the empty tree hashes to ``SHA-256("")``.

A *perfect node* ``(level, index)`` is the root of the full subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes.
The store keeps exactly these, one row per full subtree, and hands them to the
proof generators as a ``NodeLookup``. Hashes on the non-perfect right edge of a
tree are recomputed from perfect nodes, so every proof costs O(log n) lookups.

- ``inclusion_proof`` / ``consistency_proof`` generate PATH and PROOF
  (RFC 9162 §2.1.3.1, §2.1.4.1);
- ``verify_inclusion`` / ``verify_consistency`` follow the algorithms of
  RFC 9162 §2.1.3.2 and §2.1.4.2 and raise ``VerificationError`` on failure;
- ``CompactRange`` keeps only the right edge of a growing tree: ``append`` is
  O(log n) amortised and returns the perfect nodes it completed, to persist;
  ``right_edge(size)`` names the nodes that ``CompactRange.resume`` reads;
- ``MerkleTree`` is a whole tree in memory (tests, benchmarks, small logs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256

from mics.errors import InvalidInput, VerificationError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1 domain separation for leaves
NODE_PREFIX = b"\x01"  # ... and for interior nodes
EMPTY_ROOT = sha256(b"").digest()

NodeLookup = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the perfect subtree at that place."""

Node = tuple[int, int, bytes]
"""A perfect node as ``(level, index, hash)``."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the hash of one log entry."""
    return sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return sha256(NODE_PREFIX + left + right).digest()


def merkle_tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the recursive definition of RFC 9162 §2.1.1 (the reference)."""

    def mth(begin: int, end: int) -> bytes:
        if end - begin == 1:
            return leaf_hashes[begin]
        k = 1 << ((end - begin - 1).bit_length() - 1)  # largest power of two < n
        return node_hash(mth(begin, begin + k), mth(begin + k, end))

    return mth(0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


def range_hash(node: NodeLookup, begin: int, end: int) -> bytes:
    """MTH(D[begin:end]) from perfect nodes, for ``begin`` aligned as in a proof.

    ``D[begin:end]`` splits into perfect subtrees following the binary digits
    of its length, largest first; RFC 9162's split rule then folds them from
    the right. ``begin`` must be a multiple of the largest of them.
    """
    count = end - begin
    if count <= 0:
        raise InvalidInput(
            f"empty leaf range [{begin}, {end})",
            field="range",
            value=[begin, end],
            expected="begin < end",
        )
    parts: list[bytes] = []
    start = begin
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            if start & ((1 << level) - 1):
                raise InvalidInput(
                    f"leaf range [{begin}, {end}) is not aligned to a subtree",
                    field="range",
                    value=[begin, end],
                    expected=f"begin a multiple of {1 << level}",
                )
            parts.append(node(level, start >> level))
            start += 1 << level
    result = parts[-1]
    for left in reversed(parts[:-1]):
        result = sha256(NODE_PREFIX + left + result).digest()
    return result


def root(node: NodeLookup, size: int) -> bytes:
    """The root hash of the tree of ``size`` leaves (``EMPTY_ROOT`` for 0)."""
    _check_size(size, "size")
    return range_hash(node, 0, size) if size else EMPTY_ROOT


def _path(index: int, level: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes prove node ``(level, index)`` in a tree of ``size``.

    Below ``inner`` the path and the tree's last node part ways, so siblings may
    be right-edge subtrees cut at ``size``; above it every sibling is a perfect
    left subtree, needed wherever the path goes right.
    """
    last = (size - 1) >> level
    inner = (index ^ last).bit_length()
    ranges = []
    for height in range(inner):
        sibling = (index >> height) ^ 1
        shift = level + height
        ranges.append((sibling << shift, min((sibling + 1) << shift, size)))
    for height in range(inner, index.bit_length()):
        if index >> height & 1:
            sibling = (index >> height) ^ 1
            shift = level + height
            ranges.append((sibling << shift, (sibling + 1) << shift))
    return ranges


def inclusion_proof(node: NodeLookup, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf end first."""
    _check_size(size, "size")
    if not 0 <= index < size:
        raise InvalidInput(
            f"leaf index {index} is outside a tree of {size} leaves",
            field="index",
            value=index,
            expected=f"0 <= index < {size}",
        )
    return [range_hash(node, begin, end) for begin, end in _path(index, 0, size)]


def consistency_proof(node: NodeLookup, size1: int, size2: int) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 §2.1.4.1, for 0 < size1 <= size2 (empty if equal).

    Size 0 is refused, as ``verify_consistency`` does: every tree extends the
    empty tree, so such a proof would say nothing.
    """
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 > size2:
        raise InvalidInput(
            f"old size {size1} is larger than new size {size2}",
            field="size1",
            value=size1,
            expected=f"0 <= size1 <= {size2}",
        )
    if size1 == 0:
        raise InvalidInput(
            f"a consistency proof from the empty tree to size {size2} proves nothing",
            field="size1",
            value=size1,
            expected="size1 >= 1 (every tree extends the empty tree)",
        )
    if size1 == size2:
        return []
    # The old root is the fold of the right edge of size1; its last perfect
    # node (level, index) is where the proof starts, unless size1 is a power
    # of two and the old root itself is that node (the verifier knows it).
    level = (size1 & -size1).bit_length() - 1
    index = (size1 - 1) >> level
    ranges = _path(index, level, size2)
    if index:
        ranges.insert(0, (index << level, (index + 1) << level))
    return [range_hash(node, begin, end) for begin, end in ranges]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Check an inclusion proof (RFC 9162 §2.1.3.2) or raise ``VerificationError``."""
    _check_hash(leaf, "leaf hash")
    _check_hash(root_hash, "root hash")
    if not 0 <= index < size:
        raise VerificationError(
            f"expected a leaf index below the tree size {size}, got {index}",
            leaf_index=index,
            tree_size=size,
        )
    fn, sn, r = index, size - 1, leaf
    for position, p in enumerate(proof):
        _check_hash(p, f"proof hash {position}")
        if sn == 0:
            raise VerificationError(
                f"expected a proof of at most {position} hashes for leaf {index} "
                f"in a tree of {size}, got {len(proof)}"
            )
        if fn & 1 or fn == sn:
            r = sha256(NODE_PREFIX + p + r).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(NODE_PREFIX + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"expected more than {len(proof)} proof hashes for leaf {index} "
            f"in a tree of {size}, got {len(proof)}"
        )
    if r != root_hash:
        raise VerificationError(
            f"expected root {root_hash.hex()}, got {r.hex()} from the inclusion proof "
            f"of leaf {index} in a tree of {size}"
        )


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check a consistency proof (RFC 9162 §2.1.4.2) or raise ``VerificationError``."""
    if not 0 < size1 <= size2:
        raise VerificationError(
            f"expected sizes 0 < size1 <= size2, got {size1} and {size2}"
            + (": a proof from the empty tree proves nothing" if size1 == 0 else "")
        )
    if size1 == size2:
        if proof:
            raise VerificationError(
                f"expected an empty proof between equal sizes {size1}, got {len(proof)} hashes"
            )
        if root1 != root2:
            raise VerificationError(
                f"expected equal roots for equal sizes {size1}, got {root1.hex()} and {root2.hex()}"
            )
        return
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    for position, p in enumerate(proof):
        _check_hash(p, f"proof hash {position}")
    if not proof:
        raise VerificationError(f"expected a non-empty proof from size {size1} to {size2}, got []")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)  # a power of two: the old root opens the path
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(
                f"expected fewer proof hashes from size {size1} to {size2}, got {len(proof)}"
            )
        if fn & 1 or fn == sn:
            fr = sha256(NODE_PREFIX + c + fr).digest()
            sr = sha256(NODE_PREFIX + c + sr).digest()
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha256(NODE_PREFIX + sr + c).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError(
            f"expected more proof hashes from size {size1} to {size2}, got {len(proof)}"
        )
    if fr != root1:
        raise VerificationError(
            f"expected first root {root1.hex()}, got {fr.hex()} from the consistency proof"
        )
    if sr != root2:
        raise VerificationError(
            f"expected second root {root2.hex()}, got {sr.hex()} from the consistency proof"
        )


def right_edge(size: int) -> list[tuple[int, int]]:
    """The perfect nodes ``(level, index)`` on the right edge of a tree of ``size``.

    One per set bit of ``size``, largest (leftmost) first: what ``CompactRange.resume``
    reads, so that a store can fetch them all at once beforehand.
    """
    _check_size(size, "size")
    nodes = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


class CompactRange:
    """The right edge of a growing tree: one perfect subtree root per set bit of size.

    Like a binary counter: appending a leaf merges equal-sized subtrees at the
    edge the way a carry ripples, so each append hashes once per carry.
    """

    __slots__ = ("_edge", "_size")

    def __init__(self) -> None:
        self._edge: list[bytes] = []
        self._size = 0

    @classmethod
    def resume(cls, size: int, node: NodeLookup) -> CompactRange:
        """The right edge of an existing tree, read from its perfect nodes (``right_edge``)."""
        edge = cls()
        edge._edge = [node(level, index) for level, index in right_edge(size)]
        edge._size = size
        return edge

    @property
    def size(self) -> int:
        return self._size

    @property
    def edge(self) -> list[Node]:
        """The perfect nodes of the right edge, largest (leftmost) first."""
        return [
            (level, index, h)
            for (level, index), h in zip(right_edge(self._size), self._edge, strict=True)
        ]

    def append(self, leaf: bytes) -> list[Node]:
        """Add one leaf hash; return the perfect nodes completed, the leaf first."""
        index = self._size
        edge = self._edge
        completed = [(0, index, leaf)]
        self._size = index + 1
        if not index & 1:  # a left child: nothing to merge (half of all appends)
            edge.append(leaf)
            return completed
        h = leaf
        level = 0
        while index >> level & 1:
            h = sha256(NODE_PREFIX + edge.pop() + h).digest()
            level += 1
            completed.append((level, index >> level, h))
        edge.append(h)
        return completed

    def root(self) -> bytes:
        """The root hash of the tree so far (``EMPTY_ROOT`` when empty)."""
        edge = self._edge
        if not edge:
            return EMPTY_ROOT
        r = edge[-1]
        for left in reversed(edge[:-1]):
            r = sha256(NODE_PREFIX + left + r).digest()
        return r


class MerkleTree:
    """A whole tree in memory: every perfect node, by level."""

    __slots__ = ("_edge", "_levels")

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self._edge = CompactRange()
        for leaf in leaf_hashes:
            self.append_hash(leaf)

    @property
    def size(self) -> int:
        return self._edge.size

    def append(self, data: bytes) -> int:
        """Log ``data`` as a new leaf; return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, leaf: bytes) -> int:
        """Add a leaf hash; return its index."""
        levels = self._levels
        for level, _, h in self._edge.append(leaf):
            if level == len(levels):
                levels.append([])
            levels[level].append(h)
        return self._edge.size - 1

    def node(self, level: int, index: int) -> bytes:
        """The perfect node at ``(level, index)`` (a ``NodeLookup``)."""
        try:
            return self._levels[level][index]
        except IndexError:
            raise InvalidInput(
                f"no perfect node at level {level}, index {index} in a tree of {self.size}",
                field="node",
                value=[level, index],
                expected="a complete subtree of this tree",
            ) from None

    def root(self, size: int | None = None) -> bytes:
        """The root at ``size`` (default: now)."""
        if size is None:
            return self._edge.root()
        self._check_known(size)
        return root(self.node, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_known(size)
        return inclusion_proof(self.node, index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        size2 = self.size if size2 is None else size2
        self._check_known(size2)
        return consistency_proof(self.node, size1, size2)

    def _check_known(self, size: int) -> None:
        if size > self.size:
            raise InvalidInput(
                f"tree size {size} is beyond the {self.size} leaves logged",
                field="size",
                value=size,
                expected=f"at most {self.size}",
            )


def _check_size(size: int, name: str) -> None:
    if size < 0:
        raise InvalidInput(
            f"tree size {size} is negative", field=name, value=size, expected="size >= 0"
        )


def _check_hash(value: bytes, name: str) -> None:
    if len(value) != HASH_SIZE:
        raise VerificationError(
            f"expected a {HASH_SIZE}-byte {name}, got {len(value)} bytes", field=name
        )
