"""The bounding box of an STL mesh (binary or ASCII STL, the 3D Systems format).

Binary STL: an 80-byte header, a little-endian uint32 triangle count, then 50
bytes per triangle (normal, three vertices as float32, a uint16 attribute).
ASCII STL: ``solid ... facet normal ... vertex x y z ... endsolid``.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from mics.errors import InvalidInput

# A part file beyond 200 MB is not a spare part; reading it would stall a run.
MAX_MESH_BYTES = 200_000_000
_VERTEX = re.compile(rb"vertex\s+(\S+)\s+(\S+)\s+(\S+)")


def stl_bbox_mm(field: str, path: Path) -> tuple[float, float, float]:
    """Extent (x, y, z) of the mesh at ``path``; a file that cannot be read raises."""

    def bad(why: str) -> InvalidInput:
        return InvalidInput(
            f"cannot read the mesh: {why}", field=field, value=str(path), expected="an STL file"
        )

    try:
        size = path.stat().st_size
        if size > MAX_MESH_BYTES:
            raise bad(f"{size} bytes is more than {MAX_MESH_BYTES}")
        data = path.read_bytes()
    except OSError as error:
        raise bad(error.strerror or "not readable") from error
    vertices = _binary(data)
    if vertices is None:
        found = _VERTEX.findall(data)
        if not found:
            raise bad("neither binary STL nor ASCII STL with vertices")
        try:
            vertices = np.array(found, dtype=np.float64)
        except ValueError as error:
            raise bad("a vertex is not three numbers") from error
    if vertices.size == 0 or not np.all(np.isfinite(vertices)):
        raise bad("no finite vertices")
    extent = vertices.max(axis=0) - vertices.min(axis=0)
    if np.any(extent <= 0):
        raise bad("the mesh is flat")
    return (float(extent[0]), float(extent[1]), float(extent[2]))


def _binary(data: bytes) -> np.ndarray | None:
    if len(data) < 84:
        return None
    (count,) = struct.unpack_from("<I", data, 80)
    if count == 0 or len(data) != 84 + 50 * count:
        return None
    record = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
    triangles = np.frombuffer(data, dtype=record, count=count, offset=84)
    return triangles["v"].reshape(-1, 3).astype(np.float64)
