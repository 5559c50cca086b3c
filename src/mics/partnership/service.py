"""Match-making services: check the request, take the current index, rank."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from mics.db import Database
from mics.errors import InvalidInput
from mics.partnership import encoder, index
from mics.partnership import kickoff as kickoff_plan
from mics.partnership.consortium import Consortium, named_sectors, propose, split_needs
from mics.partnership.evidence import gather
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


# Needs a caller may list, and their length: a consortium of at most 7 covers a handful.
MAX_NEEDS, MAX_NEED_CHARS = 12, 300
CANDIDATES = 15  # partners ranked for the whole idea that the builder may draw from
PER_NEED = 3  # and, for each need, its best partners (a need the whole idea buries)


def consortium(
    db: Database,
    idea: str,
    *,
    sectors: list[str] | None = None,
    needs: list[str] | None = None,
) -> Consortium:
    """A consortium of 3-7 partners for ``idea`` (``consortium.propose``): each member with
    what it brings, and what is still missing. ``needs`` and ``sectors`` default to the
    parts of the idea and the sectors it names."""
    current = index.current(db)
    checked = check_query(current, Query(idea))
    for sector in sectors or []:
        check_query(current, Query(checked.text, sector=sector))  # unknown: InvalidInput
    if needs is not None:
        if not 1 <= len(needs) <= MAX_NEEDS:
            raise InvalidInput(
                f"{len(needs)} needs",
                field="needs",
                value=len(needs),
                expected=f"1..{MAX_NEEDS} needs",
            )
        for i, need in enumerate(needs):
            if not need.strip() or len(need) > MAX_NEED_CHARS:
                raise InvalidInput(
                    "a need is a few words",
                    field=f"needs[{i}]",
                    value=need[:80],
                    expected=f"1..{MAX_NEED_CHARS} characters",
                )
    wanted = [n.strip() for n in needs] if needs else split_needs(checked.text)
    named = (
        list(dict.fromkeys(sectors))
        if sectors
        else named_sectors(
            checked.text,
            dict(zip(current.evidence.sectors, current.evidence.sector_scopes, strict=True)),
        )
    )
    vectors = encoder.embed([checked.text, *wanted])
    candidates = rank(current, checked, vectors[0], limit=CANDIDATES)
    for n, need in enumerate(wanted, 1):
        for found in rank(current, Query(need), vectors[n], limit=PER_NEED):
            if all(found.partner != c.partner for c in candidates):
                candidates.append(found)
    return propose(current, checked.text, wanted, vectors[1:], candidates, named)


def kickoff(db: Database, raw: dict[str, Any]) -> kickoff_plan.Schedule:
    """The 1:1 meetings of the kick-off file ``raw``, its partners checked against the
    registry (``kickoff.parse_plan``), placed by ``kickoff.schedule``."""
    partners = {p.partner for p in gather(db).partners}
    return kickoff_plan.schedule(kickoff_plan.parse_plan(raw, partners))


def demo_kickoff() -> dict[str, Any]:
    """The demo's kick-off file (fictional presenters and interests, like the demo registry)."""
    raw = resources.files("mics.partnership").joinpath("data", "kickoff_demo.json")
    data: dict[str, Any] = json.loads(raw.read_text("utf-8"))
    return data
