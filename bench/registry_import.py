"""Registry import throughput: validated, all-or-nothing ``registry.load`` of N materials.

Anchor: the same rows written by a bare SQLAlchemy Core ``executemany`` (the ceiling).
Usage: python bench/registry_import.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from mics import registry
from mics.db import Database
from mics.registry.store import MaterialRow


def records(n: int, prefix: str) -> list[dict[str, object]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "name": f"Material {i}",
            "category": "metal",
            "density_kg_m3": 1000.0 + i % 7000,
            "recycled_share": (i % 10) / 10,
            "bio_based_share": 0.0,
            "country": "IT",
        }
        for i in range(n)
    ]


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.upgrade()
        start = time.perf_counter()
        registry.load(db, {"materials": records(n, "m")})
        ours = n / (time.perf_counter() - start)
        rows = [r | {"supplier_id": None, "lca_process": None} for r in records(n, "bare")]
        start = time.perf_counter()
        with db.engine.begin() as connection:
            connection.execute(insert(MaterialRow), rows)
        bare = n / (time.perf_counter() - start)
        db.dispose()
    print(f"{'measure':<40}{'records/s':>12}")
    print(f"{'registry.load (validated, upsert)':<40}{ours:>12,.0f}")
    print(f"{'bare executemany (ceiling)':<40}{bare:>12,.0f}")
    print(f"{'ratio to ceiling':<40}{ours / bare:>12.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
