"""``mics demo`` for passports: a packaging secret for every demo item (idempotent).

Items that have a secret keep it; the demo does not print them - ``mics passport
secrets PRODUCT --reissue`` prints new ones for items not claimed yet. The
provenance the passports show comes from the trace demo (``mics.trace.demo``).
"""

from __future__ import annotations

from mics.db import Database
from mics.passport.ownership import issue_secrets
from mics.registry import reads as registry


def load_passport_demo(db: Database) -> dict[str, int]:
    """A packaging secret for each demo item that has none; returns how many were made."""
    with db.read() as s:
        products = registry.product_ids(s)
    return {"packaging_secrets": sum(len(issue_secrets(db, p)) for p in products)}
