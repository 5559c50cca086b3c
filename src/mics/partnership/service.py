"""Match-making services: check the request, take the current index, rank."""

from __future__ import annotations

from mics.db import Database
from mics.errors import InvalidInput
from mics.partnership import encoder, index
from mics.partnership.ranking import Match, Method, Query, rank
from mics.registry.domain import PARTNER_KINDS

# An idea is a sentence or a paragraph; 2,000 characters bound the encoder's work per
# request (~10 ms per 100 words) and the words BM25 looks up.
MAX_QUERY_CHARS = 2000
MAX_RESULTS = 50  # more partners than a consortium or a kick-off table can use


def check_query(db_index: index.MatchIndex, query: Query) -> Query:
    """``query`` with its text trimmed, or InvalidInput naming the bad field."""
    words = query.text.strip()
    if not words:
        raise InvalidInput(
            "the idea is empty", field="q", value=query.text, expected="a project idea in words"
        )
    if len(words) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"the idea is {len(words)} characters long",
            field="q",
            value=words[:80] + "...",
            expected=f"at most {MAX_QUERY_CHARS} characters: summarise the idea",
        )
    evidence = db_index.evidence
    if query.sector is not None and query.sector not in evidence.sectors:
        raise InvalidInput(
            f"unknown sector {query.sector!r}: the sectors are " + ", ".join(evidence.sectors),
            field="sector",
            value=query.sector,
            expected="one of " + ", ".join(evidence.sectors),
        )
    if query.spoke is not None and query.spoke not in evidence.spokes:
        raise InvalidInput(
            f"unknown spoke {query.spoke!r}: the spokes are "
            + ", ".join(str(s) for s in evidence.spokes),
            field="spoke",
            value=query.spoke,
            expected="one of " + ", ".join(str(s) for s in evidence.spokes),
        )
    if query.kind is not None and query.kind not in PARTNER_KINDS:
        raise InvalidInput(
            f"unknown partner kind {query.kind!r}: the kinds are " + ", ".join(PARTNER_KINDS),
            field="kind",
            value=query.kind,
            expected="one of " + ", ".join(PARTNER_KINDS),
        )
    return Query(words, query.sector, query.spoke, query.kind)


def match(db: Database, query: Query, *, limit: int = 10, method: Method = "hybrid") -> list[Match]:
    """The partners best placed to work on ``query``'s idea, best first, with reasons."""
    if not 1 <= limit <= MAX_RESULTS:
        raise InvalidInput(
            "result count out of range", field="limit", value=limit, expected=f"1..{MAX_RESULTS}"
        )
    current = index.current(db)
    checked = check_query(current, query)
    vector = encoder.embed([checked.text])[0]
    return rank(current, checked, vector, method=method, limit=limit)
