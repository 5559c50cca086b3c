"""The parts of a passport any scan or resale changes, read fresh for every answer.

``authenticity`` (the last verdict of a scan whose MAC checked) and
``ownership`` (owners, since when, lost or stolen) are never cached:
``passport.passport_cache`` splices them into its cached bytes, filtered to the
reader's tier with the ``passport.access`` rules (``visible_keys``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from mics.db import Database
from mics.passport import access
from mics.passport.ownership import status_of
from mics.passport.store import LAST_CHECKED_SCAN, OwnershipRow, PassportItemRow
from mics.passport.view import VOLATILE, authenticity_block, ownership_block

__all__ = ["UNKNOWN", "ownership_now", "ownership_of", "visible_keys", "volatile_parts"]


@cache
def visible_keys(tier: str) -> dict[str, frozenset[str]]:
    """Which keys of each volatile part ``tier`` may read, by the ``access`` rules."""
    template = {
        "authenticity": authenticity_block("authentic", datetime.now(UTC), 1),
        "ownership": ownership_block(
            {
                "owners": 1,
                "since": "x",
                "owned_since": ["x"],
                "lost_or_stolen": True,
                "status": "lost",
                "claimable": False,
            }
        ),
    }
    kept = access.filter_to_tier(template, tier)
    return {part: frozenset(kept.get(part, {})) for part in VOLATILE}


# The owner's report and every ownership period in one statement: periods only
# exist for an item with a packaging secret (``ownership.claim`` needs one).
_OWNERSHIP = (
    select(PassportItemRow.status, OwnershipRow.since, OwnershipRow.until)
    .select_from(PassportItemRow)
    .outerjoin(OwnershipRow, OwnershipRow.item_id == PassportItemRow.item_id)
    .where(PassportItemRow.item_id == bindparam("item"))
    .order_by(OwnershipRow.since, OwnershipRow.id)
)
UNKNOWN = {"verdict": None, "checkedAt": None, "counter": None}


def ownership_now(conn: Connection, item_id: int) -> dict[str, Any]:
    """``ownership`` as ``ownership.item_status`` would give it, in one indexed read."""
    rows = conn.execute(_OWNERSHIP, {"item": item_id}).all()
    secret = bool(rows)  # the item has a passport_item row: a packaging secret
    status = rows[0].status if rows else None
    periods = [(row.since, row.until) for row in rows if row.since is not None]
    return ownership_of(secret, status, periods)


def ownership_of(
    secret: bool, status: str | None, periods: Sequence[tuple[datetime, datetime | None]]
) -> dict[str, Any]:
    """``ownership`` from what the database holds: a packaging secret, a report, periods
    (the rule is ``ownership.status_of``)."""
    return ownership_block(status_of(secret, status, None, periods))


def volatile_parts(
    db: Database,
    item_id: int | None,
    authenticity: dict[str, Any] | None = None,
    ownership: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """Fresh ``authenticity`` and ``ownership`` (unless given: a scan has just read both)."""
    if item_id is None:
        return {"authenticity": dict(UNKNOWN), "ownership": ownership_block(None)}
    if authenticity is not None and ownership is not None:
        return {"authenticity": authenticity, "ownership": ownership}
    with db.engine.connect() as conn:
        if authenticity is None:
            last = conn.execute(LAST_CHECKED_SCAN, {"item": item_id}).first()
            authenticity = dict(UNKNOWN) if last is None else authenticity_block(*last)
        return {"authenticity": authenticity, "ownership": ownership_now(conn, item_id)}
