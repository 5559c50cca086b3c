"""``/api/trace/{epc}/upstream|downstream``: genealogy as a graph and a timeline."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from mics.api.deps import DatabaseDep, ViewerDep
from mics.trace import genealogy, lookup

router = APIRouter(prefix="/api/trace", tags=["trace"])


@router.get("/{epc:path}/{direction}")
def trace(
    epc: str, direction: Literal["upstream", "downstream"], db: DatabaseDep, viewer: ViewerDep
) -> dict[str, Any]:
    """Everything ``epc`` was made from (upstream) or that was made from it (downstream)."""
    root, extra = lookup.resolve(db, epc)
    answer = genealogy.trace(db, root, direction, viewer, extra)
    return answer.as_json()
