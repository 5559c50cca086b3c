"""``mics demo``: every area's demo data, loaded idempotently."""

from __future__ import annotations

from rich.progress import Progress

from mics.config import Settings
from mics.db import Database
from mics.passport.demo import load_passport_demo
from mics.passport.tags import load_tag_demo
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.trace.demo import load_demo_chains


def load_demo(db: Database, progress: Progress | None = None) -> dict[str, int]:
    task = progress.add_task("registry", total=None) if progress else None
    ensure_instance(db, Settings.from_env().operator_partner)
    counts = load_demo_registry(db)
    counts["events"] = load_demo_chains(db)
    counts |= load_passport_demo(db)
    counts |= load_tag_demo(db)
    if progress is not None and task is not None:
        progress.update(task, completed=1, total=1)
    return counts
