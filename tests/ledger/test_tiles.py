"""c2sp.org/tlog-tiles: paths, widths, tile contents and entry bundles."""

from __future__ import annotations

import pytest

from mics.errors import InvalidInput, NotFound
from mics.ledger.merkle import MerkleTree, leaf_hash, merkle_tree_hash
from mics.ledger.tiles import (
    EntryBundle,
    Tile,
    encode_index,
    entry_bundle,
    parse_entry_bundle,
    parse_tile,
    parse_tile_path,
    partial_width,
    tile_bytes,
    tile_for,
    tiles_for_size,
)

TREE = MerkleTree([leaf_hash(i.to_bytes(4, "big")) for i in range(256 * 256 + 300)])


@pytest.mark.parametrize(
    ("index", "encoded"),
    [
        (0, "000"),
        (5, "005"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_index_is_encoded_in_x_prefixed_three_digit_groups(index: int, encoded: str) -> None:
    assert encode_index(index) == encoded


def test_paths_of_full_and_partial_tiles_and_bundles() -> None:
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(1, 1234067, 8).path == "tile/1/x001/x234/067.p/8"
    assert EntryBundle(1234067).path == "tile/entries/x001/x234/067"
    assert EntryBundle(2, 17).path == "tile/entries/002.p/17"


@pytest.mark.parametrize(
    "path",
    ["tile/0/x001/x234/067", "tile/63/000.p/255", "tile/entries/x001/000.p/1", "tile/2/005"],
)
def test_tile_paths_parse_back_to_themselves(path: str) -> None:
    assert parse_tile_path(path).path == path


def test_parsed_paths_name_level_index_and_width() -> None:
    assert parse_tile_path("tile/1/x001/x234/067.p/8") == Tile(1, 1234067, 8)
    assert parse_tile_path("tile/entries/012") == EntryBundle(12, 256)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/0001",
        "tile/01/000",
        "tile/64/000",
        "tile/0/x000/005",
        "tile/0/001/002",
        "tile/0/x001",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/08",
        "tile/0/000/",
        "/tile/0/000",
        "tile/entries/000.p/",
        "tile/-1/000",
    ],
)
def test_bad_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        parse_tile_path(path)


def test_spec_example_tree_of_70000_has_the_listed_partial_tiles() -> None:
    assert tiles_for_size(70_000) == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]
    assert tile_for(1, 0, 70_000) == Tile(1, 0, 256)
    assert tiles_for_size(256) == [Tile(0, 0, 256), Tile(1, 0, 1)]
    assert tiles_for_size(0) == []
    assert partial_width(0, 70_000) == 112
    assert partial_width(0, 512) == 0


def test_tile_beyond_the_tree_is_not_found() -> None:
    with pytest.raises(NotFound, match="tile 0/274"):
        tile_for(0, 274, 70_000)


def test_level_zero_tile_holds_leaf_hashes() -> None:
    data = tile_bytes(Tile(0, 1), TREE.node)
    assert len(data) == 8192
    assert parse_tile(data)[5] == TREE.node(0, 256 + 5)


def test_level_one_tile_holds_roots_of_full_level_zero_tiles() -> None:
    level1 = parse_tile(tile_bytes(tile_for(1, 0, TREE.size), TREE.node))
    assert len(level1) == 256
    leaves = parse_tile(tile_bytes(Tile(0, 7), TREE.node))
    # a tile spans 8 tree levels: its 256 hashes rehash to the node above it
    assert level1[7] == merkle_tree_hash(leaves) == TREE.node(8, 7)


def test_partial_tile_width_follows_the_tree_size() -> None:
    tile = tile_for(0, 257, TREE.size)
    assert tile == Tile(0, 257, 300 - 256)
    assert tile_bytes(tile, TREE.node)[-32:] == TREE.node(0, TREE.size - 1)
    with pytest.raises(InvalidInput, match="8192 bytes"):
        parse_tile(b"\0" * 100)


def test_entry_bundle_round_trip_with_uint16_length_prefixes() -> None:
    entries = [b"a", b"", b"x" * 300]
    bundle = entry_bundle(entries)
    assert bundle[:5] == b"\x00\x01a\x00\x00"
    assert bundle[5:7] == (300).to_bytes(2, "big")
    assert parse_entry_bundle(bundle) == entries


def test_truncated_or_oversized_bundles_are_refused() -> None:
    bundle = entry_bundle([b"abc", b"def"])
    with pytest.raises(InvalidInput, match="truncated"):
        parse_entry_bundle(bundle[:-1])
    with pytest.raises(InvalidInput, match="truncated"):
        parse_entry_bundle(bundle + b"\x00")
    with pytest.raises(InvalidInput, match="65535"):
        entry_bundle([b"\0" * 65536])
    with pytest.raises(InvalidInput, match="more than 256"):
        entry_bundle([b""] * 257)


def test_bundle_leaf_range_and_tile_nodes() -> None:
    assert EntryBundle(2, 3).leaf_range == range(512, 515)
    assert Tile(2, 1, 2).nodes == [(16, 256), (16, 257)]
