"""``/api/match``: partners for a project idea, and a consortium for it (issue 19).

Public reads: what the registry already shows (partners, competences, projects),
ranked. Bad input (empty or overlong idea, unknown sector, spoke or kind) is an RFC
9457 problem naming the field.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mics import partnership
from mics.api.deps import DatabaseDep
from mics.column_ranges import Int32
from mics.partnership.schemas import ConsortiumIn, ConsortiumOut, MatchOut
from mics.partnership.service import MAX_RESULTS, consortium

router = APIRouter(prefix="/api", tags=["match-making"])


@router.get("/match")
def match(
    db: DatabaseDep,
    q: Annotated[str, Query(description="the project idea, in Italian or English")] = "",
    sector: Annotated[str | None, Query(description="a sector id: a fit feature")] = None,
    spoke: Annotated[Int32 | None, Query(description="a spoke number: a fit feature")] = None,
    kind: Annotated[
        str | None, Query(description="only partners of this kind (university, enterprise, ...)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS, description="how many partners")] = 10,
) -> list[MatchOut]:
    """The partners best placed for the idea, best first, each with its reasons: the
    phrases of its evidence that matched (and the words they share) and its sector/spoke fit."""
    found = partnership.match(db, partnership.Query(q, sector, spoke, kind), limit=limit)
    return [MatchOut.of(m) for m in found]


@router.post("/match/consortium")
def build_consortium(db: DatabaseDep, body: ConsortiumIn) -> ConsortiumOut:
    """A consortium of 3-7 partners for the idea: the competences it needs covered, at
    least one university or research centre and one enterprise, the sectors it names
    spanned, no two members in one role; what each brings and what is still missing."""
    return ConsortiumOut.of(consortium(db, body.idea, sectors=body.sectors, needs=body.needs))
