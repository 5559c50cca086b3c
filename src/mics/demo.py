"""``mics demo``: every area's demo data, loaded idempotently."""

from __future__ import annotations

from rich.progress import Progress

from mics.config import Settings
from mics.custody.demo import load_custody_demo
from mics.db import Database
from mics.errors import Unauthorized
from mics.passport.demo import load_passport_demo
from mics.passport.tags import load_master_key, load_tag_demo, simulate_scan_url
from mics.registry import list_items
from mics.registry.api_keys import authenticate, create_key, revoke_key
from mics.registry.demo import ensure_instance, load_demo_registry
from mics.secret_file import create_once, read_private
from mics.trace.demo import load_demo_chains


def load_demo(db: Database, progress: Progress | None = None) -> dict[str, int]:
    task = progress.add_task("registry", total=None) if progress else None
    ensure_instance(db, Settings.from_env().operator_partner)
    counts = load_demo_registry(db)
    counts["events"] = load_demo_chains(db)
    counts |= load_custody_demo(db)  # before secrets and tags: its rings get them too
    counts |= load_passport_demo(db)
    counts |= load_tag_demo(db)
    if progress is not None and task is not None:
        progress.update(task, completed=1, total=1)
    return counts


DEMO_KEY_FILE = "demo-operator.key"  # under MICS_HOME, owner-only, like the other secrets
DEMO_LOT = "urn:epc:class:lgtin:8012345.000040.H26-011"  # the demo's hide lot


def demo_operator_key(db: Database, settings: Settings) -> str:
    """The demo's operator API key: made once, kept under ``MICS_HOME``, shown on every run.

    A key file whose key the database no longer knows (the database was made anew) is
    replaced by a new key."""
    path = settings.home / DEMO_KEY_FILE
    if path.exists():
        key = read_private(path).strip()
        try:
            authenticate(db, key)
            return key
        except Unauthorized:
            path.unlink()
    key = create_key(db, settings.operator_partner, "operator", label="demo")
    if not create_once(path, key + "\n"):  # another run made one meanwhile: keep theirs
        revoke_key(db, key.split("_")[1])
        key = read_private(path).strip()
    return key


def start_here(db: Database, settings: Settings) -> str:
    """What ``mics demo`` prints after loading: the address, a key, three things to try."""
    key = demo_operator_key(db, settings)
    base = settings.base_url
    scan = "(no tagged item: run `mics demo` again)"
    items = list_items(db, product="borsa-aurora", limit=1).items
    if items:
        master = load_master_key(settings.home, settings.instance)
        scan = simulate_scan_url(db, master, items[0].id, base)
    return "\n".join(
        [
            "",
            f"MICS serves at {base} (start it with `mics serve`, or `make demo`).",
            f"Operator API key of the demo partner {settings.operator_partner!r} "
            f"(kept in {settings.home / DEMO_KEY_FILE}):",
            f"  {key}",
            "Three things to try:",
            f"  1. the dashboard: {base}/  (the API and its Authorize button: {base}/docs)",
            "  2. tap a demo bag's NFC tag (a genuine passport; a second visit is a replay):",
            f"     {scan}",
            f"  3. which bags were made from hide lot H26-011: mics trace downstream {DEMO_LOT}",
            f"     or: curl -H 'Authorization: Bearer {key}' "
            f"{base}/api/trace/{DEMO_LOT}/downstream",
        ]
    )
