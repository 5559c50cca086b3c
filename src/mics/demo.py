"""``mics demo``: every area's demo data, loaded idempotently."""

from __future__ import annotations

from rich.progress import Progress

from mics.db import Database
from mics.registry.demo import load_demo_registry


def load_demo(db: Database, progress: Progress | None = None) -> dict[str, int]:
    task = progress.add_task("registry", total=None) if progress else None
    counts = load_demo_registry(db)
    if progress is not None and task is not None:
        progress.update(task, completed=1, total=1)
    return counts
