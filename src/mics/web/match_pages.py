"""``/match``: the match-making page - an idea in, partners out with their reasons
highlighted, and the consortium for the idea. Server-rendered, no JavaScript: the
form is a GET, so a result is a link one can share."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from mics import partnership, registry
from mics.api.deps import DatabaseDep
from mics.errors import InvalidInput
from mics.partnership.service import consortium
from mics.web.pages import KIND_LABELS, templates

router = APIRouter(include_in_schema=False)


def marked(text: str, words: tuple[str, ...]) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each flagged when it is one of ``words`` (to highlight)."""
    if not words:
        return [(text, False)]
    pattern = re.compile(
        r"(?<!\w)("
        + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        + r")(?!\w)",
        re.IGNORECASE,
    )
    pieces, at = [], 0
    for m in pattern.finditer(text):
        if m.start() > at:
            pieces.append((text[at : m.start()], False))
        pieces.append((m.group(), True))
        at = m.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


@router.get("/match", response_class=HTMLResponse)
def match_page(
    request: Request,
    db: DatabaseDep,
    q: str = "",
    sector: str = "",
    spoke: Annotated[str, Query()] = "",
    team: str = "",
) -> HTMLResponse:
    names = {p.id: p.name for p in registry.list_partners(db, limit=500).items}
    context = {
        "q": q,
        "sector": sector,
        "spoke": spoke,
        "sectors": registry.list_sectors(db),
        "spokes": registry.list_spokes(db),
        "names": names,
        "kind_labels": KIND_LABELS,
        "marked": marked,
        "matches": [],
        "team": None,
        "error": None,
    }
    status = 200
    if q.strip():
        try:
            number = int(spoke) if spoke else None
        except ValueError:
            number = -1  # refused below, naming the field
        try:
            query = partnership.Query(q, sector or None, number)
            context["matches"] = partnership.match(db, query, limit=10)
            if team:
                context["team"] = consortium(db, q, sectors=[sector] if sector else None)
        except InvalidInput as error:
            context["error"] = error
            status = 422
    return templates.TemplateResponse(request, "match.html", context, status_code=status)
