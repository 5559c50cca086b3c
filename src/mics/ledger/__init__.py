"""The pure core of the MICS transparency log (RFC 6962/9162 Merkle tree, C2SP tlog).

- ``merkle``: hashes, proof generation from stored perfect nodes, verification,
  the right-edge ``CompactRange`` appender (RFC 9162 §2.1);
- ``leaf``: the ``mics-leaf/v1`` entry encoding;
- ``note``: signed notes, checkpoints and witness cosignatures (c2sp.org);
- ``tiles``: tile and entry-bundle paths and bytes (c2sp.org/tlog-tiles);
- ``verify``: offline checks of inclusion and consistency proof JSON;
- ``offline``: checkpoint consistency and witness quorum, offline;
- ``witness``: the c2sp.org/tlog-witness state machine (``witness_client`` runs
  it against a log over HTTP).

These modules do no database I/O. The log as stored (tables, append, signing,
proofs served, cosignatures, the signing key file) is :mod:`mics.ledger.store`.
"""

from mics.ledger.leaf import Leaf, format_record_time, leaf_data, parse_leaf_data
from mics.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    MerkleTree,
    NodeLookup,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    merkle_tree_hash,
    node_hash,
    range_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from mics.ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Cosignature,
    Note,
    Signature,
    Signer,
    Verifier,
    cosign_note,
    cosignature_message,
    format_checkpoint,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_cosignatures,
)
from mics.ledger.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    EntryBundle,
    Tile,
    encode_index,
    entry_bundle,
    level_width,
    parse_entry_bundle,
    parse_tile,
    parse_tile_path,
    partial_width,
    tile_bytes,
    tile_for,
    tiles_for_size,
)
from mics.ledger.verify import verify_consistency_proof, verify_event_inclusion

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Checkpoint",
    "CompactRange",
    "Cosignature",
    "EntryBundle",
    "Leaf",
    "MerkleTree",
    "NodeLookup",
    "Note",
    "Signature",
    "Signer",
    "Tile",
    "Verifier",
    "consistency_proof",
    "cosign_note",
    "cosignature_message",
    "encode_index",
    "entry_bundle",
    "format_checkpoint",
    "format_record_time",
    "inclusion_proof",
    "key_id",
    "leaf_data",
    "leaf_hash",
    "level_width",
    "merkle_tree_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_entry_bundle",
    "parse_leaf_data",
    "parse_note",
    "parse_tile",
    "parse_tile_path",
    "partial_width",
    "range_hash",
    "root",
    "sign_note",
    "tile_bytes",
    "tile_for",
    "tiles_for_size",
    "verify_consistency",
    "verify_consistency_proof",
    "verify_cosignatures",
    "verify_event_inclusion",
    "verify_inclusion",
]
