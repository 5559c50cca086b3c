"""Tiles and entry bundles of a tiled transparency log (c2sp.org/tlog-tiles).

Section "Merkle Tree": tile ``(L, N)`` holds, for ``i`` in ``0..255``, the hash
``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``, i.e. the perfect
node at tree level ``8L``, index ``N*256 + i``. A tile is a subtree of height 8:
it covers tree levels ``8L .. 8L+7`` and stores only its bottom row; the levels
in between are rehashed by clients. Full tiles are 256 hashes (8,192 bytes);
the rightmost tile of a level may be *partial*, ``floor(size / 256**L) mod 256``
hashes wide.

Paths: ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]`` with ``N`` in
zero-padded 3-digit groups, all but the last prefixed ``x`` (1234067 →
``x001/x234/067``). Section "Log entries": an entry bundle is the entries as
big-endian uint16 length-prefixed byte strings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mics.errors import InvalidInput, NotFound
from mics.ledger.merkle import HASH_SIZE, NodeLookup

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes per full tile
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF  # uint16 length prefix
_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


@dataclass(frozen=True)
class Tile:
    """Tile ``index`` of ``level`` with ``width`` hashes (256 when full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        _check(self.level, self.index, self.width)
        if not 0 <= self.level <= MAX_LEVEL:
            raise InvalidInput(
                f"tile level {self.level} is outside 0..{MAX_LEVEL}",
                field="level",
                value=self.level,
                expected=f"0 <= level <= {MAX_LEVEL}",
            )

    @property
    def path(self) -> str:
        return f"tile/{self.level}/{_suffix(self.index, self.width)}"

    @property
    def nodes(self) -> list[tuple[int, int]]:
        """The ``(tree level, node index)`` of each hash in the tile, in order."""
        first = self.index * TILE_WIDTH
        return [(self.level * TILE_HEIGHT, first + i) for i in range(self.width)]


@dataclass(frozen=True)
class EntryBundle:
    """Entry bundle ``index`` holding ``width`` log entries (256 when full)."""

    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        _check(0, self.index, self.width)

    @property
    def path(self) -> str:
        return f"tile/entries/{_suffix(self.index, self.width)}"

    @property
    def leaf_range(self) -> range:
        """The indexes of the entries the bundle holds."""
        first = self.index * TILE_WIDTH
        return range(first, first + self.width)


def encode_index(index: int) -> str:
    """``N`` as 3-digit path groups, all but the last prefixed ``x``: 1234067 → x001/x234/067."""
    if index < 0:
        raise InvalidInput(
            f"tile index {index} is negative", field="index", value=index, expected=">= 0"
        )
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def parse_tile_path(path: str) -> Tile | EntryBundle:
    """A ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/...`` path back to what it names."""
    match = _PATH.fullmatch(path)
    index = int(match["index"].replace("x", "").replace("/", "")) if match else -1
    width = int(match["width"] or TILE_WIDTH) if match else TILE_WIDTH
    partial_too_wide = bool(match and match["width"] and width >= TILE_WIDTH)
    if match is None or encode_index(index) != match["index"] or partial_too_wide:
        raise InvalidInput(
            f"{path!r} is not a tile path",
            field="path",
            value=path,
            expected="tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>], N like x001/x234/067",
        )
    if match["level"] == "entries":
        return EntryBundle(index, width)
    return Tile(int(match["level"]), index, width)


def level_width(level: int, size: int) -> int:
    """How many hashes tile level ``level`` has in a tree of ``size``: size // 256**level."""
    return size >> (TILE_HEIGHT * level)


def partial_width(level: int, size: int) -> int:
    """Width of the partial tile at ``level`` for ``size`` (0 when there is none)."""
    return level_width(level, size) % TILE_WIDTH


def tile_for(level: int, index: int, size: int) -> Tile:
    """Tile ``(level, index)`` as it stands in a tree of ``size``: full or partial."""
    count = level_width(level, size)
    width = min(count - index * TILE_WIDTH, TILE_WIDTH)
    if index < 0 or width <= 0:
        raise NotFound(
            f"tile {level}/{index} does not exist in a tree of {size} leaves",
            level=level,
            index=index,
            tree_size=size,
        )
    return Tile(level, index, width)


def tiles_for_size(size: int) -> list[Tile]:
    """The rightmost tile of every level a tree of ``size`` has (full or partial)."""
    tiles = []
    level = 0
    while (count := level_width(level, size)) > 0:
        tiles.append(tile_for(level, (count - 1) // TILE_WIDTH, size))
        level += 1
    return tiles


def tile_bytes(tile: Tile, node: NodeLookup) -> bytes:
    """The tile's hashes concatenated, read through ``node(level, index)``."""
    return b"".join(node(level, index) for level, index in tile.nodes)


def parse_tile(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """Split tile bytes into ``width`` 32-byte hashes."""
    if len(data) != width * HASH_SIZE:
        raise InvalidInput(
            f"tile has {len(data)} bytes, not {width} hashes of {HASH_SIZE} bytes "
            f"({width * HASH_SIZE} bytes)",
            field="tile",
            value=len(data),
            expected=f"{width * HASH_SIZE} bytes",
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Entries as big-endian uint16 length-prefixed byte strings."""
    if len(entries) > TILE_WIDTH:
        raise InvalidInput(
            f"entry bundle of {len(entries)} entries, more than {TILE_WIDTH}",
            field="entries",
            value=len(entries),
            expected=f"at most {TILE_WIDTH}",
        )
    out = bytearray()
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise InvalidInput(
                f"entry {position} has {len(entry)} bytes, more than {MAX_ENTRY_SIZE}",
                field="entries",
                value=len(entry),
                expected=f"at most {MAX_ENTRY_SIZE} bytes",
            )
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ``InvalidInput`` if a length runs past the end."""
    entries = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise _truncated(offset, len(data))
        end = offset + 2 + int.from_bytes(data[offset : offset + 2], "big")
        if end > len(data):
            raise _truncated(offset, len(data))
        entries.append(data[offset + 2 : end])
        offset = end
    return entries


def _suffix(index: int, width: int) -> str:
    path = encode_index(index)
    return path if width == TILE_WIDTH else f"{path}.p/{width}"


def _check(level: int, index: int, width: int) -> None:
    if index < 0 or not 1 <= width <= TILE_WIDTH:
        raise InvalidInput(
            f"tile {level}/{index} of width {width}",
            field="tile",
            value=[level, index, width],
            expected=f"index >= 0 and 1 <= width <= {TILE_WIDTH}",
        )


def _truncated(offset: int, length: int) -> InvalidInput:
    return InvalidInput(
        f"entry bundle is truncated at byte {offset} of {length}",
        field="entry_bundle",
        value=length,
        expected="a sequence of uint16 length + entry",
    )
