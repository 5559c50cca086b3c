"""Ranking partners for an idea: BM25, embeddings, reciprocal-rank fusion, sector/spoke fit.

Reciprocal-rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009): a partner's fused
score is the sum over retrievers of ``1 / (k + rank)``, k = 60 as in the paper. A
retriever that finds nothing for a partner (no shared word for BM25) gives it nothing,
so a partner is not lifted by being last in a list it is not in. Sector and spoke fit
are features on top: a partner in the sector (spoke) the caller asked for gains
``FIT_WEIGHT`` times the fraction of asked filters it fits.

Pure: the index and the query's vector come in, ranked matches with their reasons go out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mics.partnership import text
from mics.partnership.encoder import Vectors
from mics.partnership.index import MatchIndex

Method = Literal["bm25", "embedding", "hybrid"]
METHODS: tuple[Method, ...] = ("bm25", "embedding", "hybrid")
RRF_K = 60  # Cormack et al. 2009: k = 60 was best across their TREC runs
BM25_WEIGHT = 1.0  # plain RRF; weights 0.25-0.75 were tried and did no better (README)
# In the hybrid, BM25 ranks a partner only if its evidence has at least this share of the idea's
# content words (Elasticsearch's "minimum_should_match"). Without it, one generic
# shared word ("metal", "design", "product") put unrelated partners into the fused top
# five: on the labelled ideas nDCG@10 fell from 0.873 (embeddings) to 0.794 (README).
MIN_SHOULD_MATCH = 0.25
# A full fit is worth one first place in one retriever: it reorders near-ties, it does
# not bury the partner whose evidence matches best.
FIT_WEIGHT = 1.0 / (RRF_K + 1)
# A partner's semantic score is its best phrase plus this share of its second best:
# two phrases close to the idea are better evidence than one.
SECOND_PHRASE = 0.5
REASONS = 3  # evidence phrases shown per match
# Cosine similarity (USE v3) from which an unmatched phrase counts as a reason: below it
# phrases of unrelated topics (leather vs robots) score alike (README, "Match-making").
REASON_SIMILARITY = 0.30


@dataclass(frozen=True)
class Query:
    """An idea and the optional filters: ``kind`` filters, ``sector``/``spoke`` are fit features."""

    text: str
    sector: str | None = None
    spoke: int | None = None
    kind: str | None = None


@dataclass(frozen=True)
class Reason:
    """Why a partner matches: an evidence phrase (``kind="evidence"``, its ``source``, the
    ``matched`` words of it the idea shares, its ``similarity``), or a sector/spoke ``fit``."""

    kind: Literal["evidence", "sector", "spoke"]
    text: str
    source: str = ""
    matched: tuple[str, ...] = ()
    similarity: float | None = None
    fit: bool | None = None


@dataclass(frozen=True)
class Match:
    partner: str
    name: str
    kind: str
    score: float
    reasons: tuple[Reason, ...]


def semantic_scores(index: MatchIndex, vector: Vectors) -> tuple[NDArray[np.float64], Vectors]:
    """Each partner's semantic score and each phrase's cosine similarity to ``vector``."""
    sims = index.phrase_vectors @ vector if len(index.phrase_vectors) else np.zeros(0)
    n = len(index.evidence.partners)
    best = np.full(n, -1.0)
    second = np.full(n, -1.0)
    for owner, sim in zip(index.phrase_owner.tolist(), sims.tolist(), strict=True):
        if sim > best[owner]:
            best[owner], second[owner] = sim, best[owner]
        elif sim > second[owner]:
            second[owner] = sim
    score = best + SECOND_PHRASE * np.maximum(second, 0.0)
    return np.where(best < -0.5, -np.inf, score), sims.astype(np.float32)


def ranks(scores: NDArray[np.float64], eligible: NDArray[np.bool_]) -> dict[int, int]:
    """1-based rank of each eligible partner with a positive (finite) score, best first."""
    order = [int(i) for i in np.argsort(-scores, kind="stable") if eligible[i]]
    return {i: r for r, i in enumerate((i for i in order if np.isfinite(scores[i])), 1)}


def fit(index: MatchIndex, query: Query, position: int) -> float:
    """Fraction of the asked sector and spoke that the partner at ``position`` is in."""
    partner = index.evidence.partners[position]
    asked = [query.sector is not None, query.spoke is not None]
    fits = [query.sector in partner.sectors, query.spoke in partner.spokes]
    return sum(f for a, f in zip(asked, fits, strict=True) if a) / max(1, sum(asked))


def rank(
    index: MatchIndex,
    query: Query,
    vector: Vectors,
    *,
    method: Method = "hybrid",
    limit: int = 10,
) -> list[Match]:
    """The ``limit`` best partners for ``query`` (``vector`` is its embedding)."""
    partners = index.evidence.partners
    eligible = np.asarray([query.kind in (None, p.kind) for p in partners], dtype=bool)
    words = text.words(query.text)
    stems = [s for w in words for s in w.stems]
    lexical = index.bm25_scores(stems)
    if method == "hybrid" and MIN_SHOULD_MATCH > 0 and words:
        distinct = {w.text.lower(): w.stems for w in words}
        need = MIN_SHOULD_MATCH * len(distinct)
        for i, have in enumerate(index.partner_stems):
            if sum(1 for st in distinct.values() if have.intersection(st)) < need:
                lexical[i] = 0.0
    semantic, sims = semantic_scores(index, vector)
    lists = []
    if method in ("bm25", "hybrid"):
        lists.append((BM25_WEIGHT, ranks(np.where(lexical > 0, lexical, -np.inf), eligible)))
    if method in ("embedding", "hybrid"):
        lists.append((1.0, ranks(semantic, eligible)))
    fused: dict[int, float] = {}
    for weight, ranking in lists:
        for i, r in ranking.items():
            fused[i] = fused.get(i, 0.0) + weight / (RRF_K + r)
    if query.sector is not None or query.spoke is not None:
        for i in fused:
            fused[i] += FIT_WEIGHT * fit(index, query, i)
    best = sorted(fused, key=lambda i: (-fused[i], partners[i].partner))[:limit]
    query_stems = frozenset(stems)
    return [
        Match(
            partner=partners[i].partner,
            name=partners[i].name,
            kind=partners[i].kind,
            score=round(fused[i], 6),
            reasons=reasons(index, query, i, query_stems, sims),
        )
        for i in best
    ]


def reasons(
    index: MatchIndex, query: Query, position: int, stems: frozenset[str], sims: Vectors
) -> tuple[Reason, ...]:
    """The phrases of the partner's evidence nearest the idea, with the words they share
    with it, then its fit to the asked sector and spoke."""
    partner = index.evidence.partners[position]
    rows = np.flatnonzero(index.phrase_owner == position)
    found = []
    for row, phrase in zip(rows.tolist(), partner.phrases, strict=True):
        matched = tuple(
            dict.fromkeys(w.text for w in index.phrase_words[row] if stems.intersection(w.stems))
        )
        found.append((bool(matched), float(sims[row]), phrase, matched))
    found.sort(key=lambda f: (f[0], f[1]), reverse=True)
    kept = [f for f in found if f[0] or f[1] >= REASON_SIMILARITY][:REASONS] or found[:1]
    out = [
        Reason(
            "evidence", phrase.text, source=phrase.source, matched=matched, similarity=round(sim, 3)
        )
        for _, sim, phrase, matched in kept
    ]
    if query.sector is not None:
        inside = query.sector in partner.sectors
        out.append(
            Reason("sector", f"{'in' if inside else 'not in'} sector {query.sector}", fit=inside)
        )
    if query.spoke is not None:
        inside = query.spoke in partner.spokes
        where = f"{'in' if inside else 'not in'} spoke {query.spoke}"
        out.append(Reason("spoke", where, fit=inside))
    return tuple(out)
